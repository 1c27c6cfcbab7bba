// The queue between admission and the workers: FIFO, bounded by its
// capacity, cancel by slot, and under many workers every job is taken exactly
// once and no worker sleeps through a job.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "../../core/runtime/src/work_queue.hpp"

namespace edgerun::detail {
namespace {

using namespace std::chrono_literals;

// pop_wait with a bound, so that a lost job fails the test instead of hanging it.
std::optional<std::uint32_t> pop_within(WorkQueue& queue, std::chrono::milliseconds timeout = 5s) {
  auto popped = std::async(std::launch::async, [&queue]() -> std::optional<std::uint32_t> {
    std::uint32_t slot = 0;
    if (!queue.pop_wait(slot)) return std::nullopt;
    return slot;
  });
  if (popped.wait_for(timeout) != std::future_status::ready) {
    queue.close();  // lets the waiting call return so the future can end
    return std::nullopt;
  }
  return popped.get();
}

TEST(WorkQueue, TakesJobsInOrderUpToItsCapacity) {
  WorkQueue queue(3, 8);
  EXPECT_TRUE(queue.try_push(5));
  EXPECT_TRUE(queue.try_push(2));
  EXPECT_TRUE(queue.try_push(7));
  EXPECT_FALSE(queue.try_push(1));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_TRUE(queue.full());
  EXPECT_EQ(pop_within(queue), 5u);
  EXPECT_TRUE(queue.try_push(1));
  EXPECT_EQ(pop_within(queue), 2u);
  EXPECT_EQ(pop_within(queue), 7u);
  EXPECT_EQ(pop_within(queue), 1u);
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_EQ(queue.high_water(), 3u);
}

TEST(WorkQueue, ARemovedJobIsNeverTakenAndTheRestKeepTheirOrder) {
  WorkQueue queue(4, 8);
  for (std::uint32_t slot : {0u, 1u, 2u, 3u}) ASSERT_TRUE(queue.try_push(slot));
  EXPECT_TRUE(queue.remove(1));
  EXPECT_FALSE(queue.remove(1));  // already out
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(pop_within(queue), 0u);
  EXPECT_FALSE(queue.remove(0));  // a worker has it
  EXPECT_EQ(pop_within(queue), 2u);
  EXPECT_EQ(pop_within(queue), 3u);
  EXPECT_FALSE(queue.remove(6));  // never queued
}

TEST(WorkQueue, ASlotRemovedAndQueuedAgainIsTakenOnceAtItsNewPlace) {
  WorkQueue queue(4, 8);
  ASSERT_TRUE(queue.try_push(1));
  ASSERT_TRUE(queue.try_push(2));
  ASSERT_TRUE(queue.remove(1));
  ASSERT_TRUE(queue.try_push(1));  // the slot holds a new job now
  EXPECT_EQ(pop_within(queue), 2u);
  EXPECT_EQ(pop_within(queue), 1u);
  EXPECT_EQ(queue.size(), 0u);
}

// Removed jobs leave dead entries behind in the ring; however many, they take
// none of the capacity, and the live jobs keep their order.
TEST(WorkQueue, EndlessCancelsWhileNothingIsTakenKeepTheWholeCapacity) {
  constexpr std::uint32_t kCapacity = 4;
  WorkQueue queue(kCapacity, 16);
  ASSERT_TRUE(queue.try_push(0));  // waits at the head throughout
  for (int round = 0; round < 1000; ++round) {
    const std::uint32_t slot = 1 + static_cast<std::uint32_t>(round % 8);
    ASSERT_TRUE(queue.try_push(slot)) << round;
    ASSERT_TRUE(queue.remove(slot)) << round;
    ASSERT_EQ(queue.size(), 1u);
  }
  for (std::uint32_t slot = 10; slot < 10 + kCapacity - 1; ++slot) ASSERT_TRUE(queue.try_push(slot));
  EXPECT_FALSE(queue.try_push(15));
  EXPECT_EQ(pop_within(queue), 0u);
  for (std::uint32_t slot = 10; slot < 10 + kCapacity - 1; ++slot) EXPECT_EQ(pop_within(queue), slot);
}

TEST(WorkQueue, CloseWakesSleepingWorkers) {
  WorkQueue queue(4, 4);
  std::vector<std::future<bool>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::async(std::launch::async, [&queue] {
      std::uint32_t slot = 0;
      return queue.pop_wait(slot);
    }));
  }
  queue.close();
  for (auto& worker : workers) {
    ASSERT_EQ(worker.wait_for(5s), std::future_status::ready);
    EXPECT_FALSE(worker.get());
  }
}

// One job at a time, each pushed when the workers have had the chance to
// fall asleep: a wake-up lost between a push and a sleep leaves the job
// untaken and the bounded wait fails.
TEST(WorkQueue, EveryJobPushedToSleepingWorkersIsTaken) {
  constexpr std::uint32_t kJobs = 2000;
  WorkQueue queue(1, 1);
  std::mutex mutex;
  std::condition_variable taken_cv;
  std::uint32_t taken = 0;
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      std::uint32_t slot = 0;
      while (queue.pop_wait(slot)) {
        {
          std::lock_guard lock(mutex);
          ++taken;
        }
        taken_cv.notify_all();
      }
    });
  }
  bool all_taken = true;
  for (std::uint32_t job = 0; job < kJobs && all_taken; ++job) {
    ASSERT_TRUE(queue.try_push(0));
    std::unique_lock lock(mutex);
    all_taken = taken_cv.wait_for(lock, 5s, [&] { return taken == job + 1; });
  }
  queue.close();
  for (std::thread& worker : workers) worker.join();
  EXPECT_TRUE(all_taken);
  EXPECT_EQ(taken, kJobs);
}

// Worker threads that count, per slot, how often they took it. wait_for()
// bounds the wait for a number of jobs; stop() closes the queue and joins.
class CountingWorkers {
 public:
  CountingWorkers(WorkQueue& queue, int count, std::uint32_t slots) : queue_(queue), taken_(slots) {
    for (int w = 0; w < count; ++w) {
      threads_.emplace_back([this] {
        std::uint32_t slot = 0;
        while (queue_.pop_wait(slot)) {
          taken_[slot].fetch_add(1);
          total_.fetch_add(1);
        }
      });
    }
  }
  ~CountingWorkers() { stop(); }

  void wait_for(std::uint32_t jobs) const {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (total_.load() < jobs && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }
  void stop() {
    queue_.close();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int taken(std::uint32_t slot) const { return taken_[slot].load(); }

 private:
  WorkQueue& queue_;
  std::vector<std::atomic<int>> taken_;
  std::atomic<std::uint32_t> total_{0};
  std::vector<std::thread> threads_;
};

// Many workers against a producer that pushes, and sometimes removes again,
// far more jobs than the queue holds: each job is either removed or taken,
// exactly once.
TEST(WorkQueue, UnderManyWorkersEachJobIsRemovedOrTakenExactlyOnce) {
  constexpr std::uint32_t kJobs = 100'000;
  constexpr std::uint32_t kCapacity = 16;
  WorkQueue queue(kCapacity, kJobs);
  CountingWorkers workers(queue, 4, kJobs);
  std::vector<bool> removed(kJobs, false);
  std::uint32_t removed_total = 0;
  std::mt19937 random(11);
  for (std::uint32_t job = 0; job < kJobs; ++job) {
    // Now and then in a batch published later, as the loop thread does.
    const bool publish_now = random() % 4 == 0;
    while (!queue.try_push(job, publish_now)) {
      queue.publish();
      std::this_thread::yield();
    }
    // Now and then cancel a recent job, which a worker may have taken already.
    if (random() % 8 == 0) {
      const std::uint32_t victim = job - std::min<std::uint32_t>(job, random() % 4);
      if (!removed[victim] && queue.remove(victim)) {
        removed[victim] = true;
        ++removed_total;
      }
    }
  }
  queue.publish();
  workers.wait_for(kJobs - removed_total);
  workers.stop();
  EXPECT_GT(removed_total, 0u);
  for (std::uint32_t job = 0; job < kJobs; ++job) {
    ASSERT_EQ(workers.taken(job), removed[job] ? 0 : 1) << "job " << job;
  }
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_LE(queue.high_water(), kCapacity);
}

// Jobs canceled before they were published fill the ring with dead entries,
// so pushes keep dropping them while workers take the live jobs around them:
// every live job is taken exactly once, no canceled one ever.
TEST(WorkQueue, DroppingDeadEntriesWhileWorkersTakeLosesAndRepeatsNothing) {
  constexpr std::uint32_t kRounds = 50'000;
  WorkQueue queue(2, kRounds);
  CountingWorkers workers(queue, 3, kRounds);
  std::vector<bool> live(kRounds, false);
  std::uint32_t live_total = 0;
  for (std::uint32_t job = 0; job < kRounds; ++job) {
    while (!queue.try_push(job, false)) {
      queue.publish();
      std::this_thread::yield();
    }
    if (job % 5 == 0) {
      live[job] = true;
      ++live_total;
      queue.publish();
    } else {
      ASSERT_TRUE(queue.remove(job)) << job;  // not published: no worker can have it
    }
  }
  queue.publish();
  workers.wait_for(live_total);
  workers.stop();
  for (std::uint32_t job = 0; job < kRounds; ++job) {
    ASSERT_EQ(workers.taken(job), live[job] ? 1 : 0) << "job " << job;
  }
}

}  // namespace
}  // namespace edgerun::detail
