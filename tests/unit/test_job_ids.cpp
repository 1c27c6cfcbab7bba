// The ids the runtime knows: a job is found in flight while it runs, then as
// finished with its terminal state for the configured window, and the same
// id admitted again after the window is found in flight, not as the old job.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "../../core/runtime/src/job_ids.hpp"
#include "../../core/runtime/src/job_slot.hpp"

namespace edgerun::detail {
namespace {

using Kind = JobIds::Found::Kind;

// Stand-ins for the runtime's slots: an id buffer each, as large as a slot's.
struct Slots {
  std::array<std::array<char, 65>, 8> ids{};
  std::array<std::uint8_t, 8> lengths{};

  void put(std::uint32_t slot, std::string_view id) {
    ids[slot].fill('\0');
    id.copy(ids[slot].data(), id.size());
    lengths[slot] = static_cast<std::uint8_t>(id.size());
  }
  std::string_view id(std::uint32_t slot) const { return {ids[slot].data(), lengths[slot]}; }
};

class JobIdsTest : public ::testing::Test {
 protected:
  JobIds::Found find(std::string_view id) const {
    return ids_.find(id, hash_id(id), [this](std::uint32_t slot) { return slots_.id(slot); }, [this] { return now_ms_; });
  }
  void admit(std::uint32_t slot, std::string_view id) {
    slots_.put(slot, id);
    ids_.add_in_flight(hash_id(id), slot);
  }
  void finish(std::uint32_t slot, JobState state) {
    ids_.finish(slots_.ids[slot].data(), slots_.lengths[slot], hash_id(slots_.id(slot)), slot, state, now_ms_);
  }

  static constexpr std::int64_t kTtlMs = 1000;
  Slots slots_;
  JobIds ids_{8, 3, kTtlMs};
  std::int64_t now_ms_ = 5000;
};

TEST_F(JobIdsTest, AJobIsInFlightThenFinishedWithItsStateThenForgottenAfterTheTtl) {
  EXPECT_EQ(find("job-1").kind, Kind::none);
  admit(2, "job-1");
  JobIds::Found found = find("job-1");
  EXPECT_EQ(found.kind, Kind::in_flight);
  EXPECT_EQ(found.slot, 2u);

  finish(2, JobState::timed_out);
  slots_.put(2, "someone-else");  // the slot is reused at once
  found = find("job-1");
  EXPECT_EQ(found.kind, Kind::finished);
  EXPECT_EQ(found.state, JobState::timed_out);
  EXPECT_EQ(find("someone-else").kind, Kind::none);

  now_ms_ += kTtlMs;
  EXPECT_EQ(find("job-1").kind, Kind::finished) << "the window includes its last millisecond";
  now_ms_ += 1;
  EXPECT_EQ(find("job-1").kind, Kind::none);
}

TEST_F(JobIdsTest, AnIdAdmittedAgainAfterItsWindowIsFoundInFlightNotAsTheOldJob) {
  admit(0, "again");
  finish(0, JobState::failed);
  now_ms_ += kTtlMs + 1;
  admit(1, "again");
  const JobIds::Found found = find("again");
  EXPECT_EQ(found.kind, Kind::in_flight);
  EXPECT_EQ(found.slot, 1u);
  // Ended again, it is found as finished with its new state: the expired
  // record of the first run, still in the ring, does not hide it.
  finish(1, JobState::succeeded);
  const JobIds::Found again = find("again");
  EXPECT_EQ(again.kind, Kind::finished);
  EXPECT_EQ(again.state, JobState::succeeded);
}

TEST_F(JobIdsTest, TheOldestFinishedIdIsForgottenWhenTheRecordsAreFull) {
  const std::string names[] = {"a", "b", "c", "d", "e"};
  for (std::uint32_t i = 0; i < 5; ++i) {
    admit(i, names[i]);
    finish(i, JobState::succeeded);
  }
  // Three records: a and b are forgotten, c, d and e are known.
  EXPECT_EQ(find("a").kind, Kind::none);
  EXPECT_EQ(find("b").kind, Kind::none);
  for (const char* id : {"c", "d", "e"}) EXPECT_EQ(find(id).kind, Kind::finished) << id;
}

TEST_F(JobIdsTest, IdsOfEveryLengthAreCopiedWhole) {
  const std::string longest(64, 'x');
  const std::string shorter(63, 'x');
  admit(0, longest);
  admit(1, shorter);
  finish(0, JobState::succeeded);
  finish(1, JobState::canceled);
  EXPECT_EQ(find(longest).state, JobState::succeeded);
  EXPECT_EQ(find(shorter).state, JobState::canceled);
}

}  // namespace
}  // namespace edgerun::detail
