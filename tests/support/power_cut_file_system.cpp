#include "power_cut_file_system.hpp"

#include <algorithm>
#include <cerrno>
#include <initializer_list>
#include <utility>

namespace edgerun::test {

namespace {

// What a disk without power answers, and what a journal must survive.
constexpr int power_cut_error = EIO;
constexpr std::byte corruption_mask{0x5A};

// The directory whose entry `path` is: the text before the last '/', with
// "/" for a name right under the root and "" for a bare name.
std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A directory as a caller names it, spelled as directory_of() does, so that
// sync_directory(".") and "state/" find the entries of "" and "state".
std::string directory_name(const char* path) {
  std::string name = path;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  if (name == ".") return "";
  return name;
}

bool is_root(const std::string& directory) { return directory.empty() || directory == "/"; }

}  // namespace

PowerCutFileSystem::File* PowerCutFileSystem::file_of(int handle) const noexcept {
  if (handle < 0 || static_cast<std::size_t>(handle) >= handles_.size()) return nullptr;
  return handles_[static_cast<std::size_t>(handle)].get();
}

PowerCutFileSystem::FilePointer PowerCutFileSystem::visible_file(const std::string& path) const noexcept {
  const auto entry = visible_entries_.find(path);
  return entry == visible_entries_.end() ? nullptr : entry->second;
}

bool PowerCutFileSystem::is_directory(const std::string& path) const noexcept {
  return is_root(path) || directories_.contains(path);
}

std::uint64_t PowerCutFileSystem::used_bytes() const noexcept {
  // A file counts once however many names and handles it has, and a removed
  // one still counts while it is open, as its blocks are still taken.
  std::set<const File*> counted;
  std::uint64_t used = 0;
  const auto count = [&](const FilePointer& file) {
    if (file && counted.insert(file.get()).second) used += file->visible.size();
  };
  for (const auto& [path, file] : visible_entries_) count(file);
  for (const FilePointer& file : handles_) count(file);
  return used;
}

void PowerCutFileSystem::count_operation() noexcept {
  ++operations_;
  if (!recorded_torn_bytes_.empty()) record_images_locked();
  if (operations_ >= cut_after_) power_cut_ = true;
}

void PowerCutFileSystem::record_images_locked() {
  for (std::size_t i = 0; i < recorded_torn_bytes_.size(); ++i) {
    const std::size_t torn = recorded_torn_bytes_[i];
    PowerCutImage image = image_locked(torn);
    // The image the cut at the boundary before left, of this torn size or
    // of another: between two syncs only the torn ones change.
    const auto kept = std::find_if(latest_images_.begin(), latest_images_.end(), [&](std::size_t index) {
      return index < images_.size() && images_[index] == image;
    });
    std::size_t index = images_.size();
    if (kept == latest_images_.end()) {
      images_.push_back(std::move(image));
    } else {
      index = *kept;
    }
    images_[index].cuts.push_back({operations_, torn});
    latest_images_[i] = index;
  }
}

int PowerCutFileSystem::make_directory(const char* path) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const std::string name = directory_name(path);
  if (is_directory(name)) return 0;
  if (visible_entries_.contains(name)) return ENOTDIR;
  if (!is_directory(directory_of(name))) return ENOENT;
  directories_.insert(name);
  return 0;
}

int PowerCutFileSystem::open(const char* path, bool create, int& handle) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const std::string name = path;
  if (name.empty()) return ENOENT;
  if (is_directory(name)) return EISDIR;
  FilePointer file = visible_file(name);
  if (!file) {
    const std::string directory = directory_of(name);
    if (visible_entries_.contains(directory)) return ENOTDIR;
    if (!create || !is_directory(directory)) return ENOENT;
    file = std::make_shared<File>();
    visible_entries_.emplace(name, file);
  }
  // The lowest free slot, as open(2) gives the lowest free descriptor.
  const auto free_slot = std::find(handles_.begin(), handles_.end(), nullptr);
  const auto slot = static_cast<std::size_t>(free_slot - handles_.begin());
  if (free_slot == handles_.end()) {
    handles_.push_back(std::move(file));
  } else {
    *free_slot = std::move(file);
  }
  handle = static_cast<int>(slot);
  return 0;
}

int PowerCutFileSystem::close(int handle) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  if (file_of(handle) == nullptr) return EBADF;
  handles_[static_cast<std::size_t>(handle)].reset();
  return 0;
}

int PowerCutFileSystem::size(int handle, std::uint64_t& bytes) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const File* file = file_of(handle);
  if (file == nullptr) return EBADF;
  bytes = file->visible.size();
  return 0;
}

int PowerCutFileSystem::read_at(int handle, std::uint64_t offset, std::span<std::byte> out,
                                std::size_t& read) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const File* file = file_of(handle);
  if (file == nullptr) return EBADF;
  read = 0;
  if (offset >= file->visible.size()) return 0;
  const auto start = static_cast<std::size_t>(offset);
  read = std::min(out.size(), file->visible.size() - start);
  std::copy_n(file->visible.begin() + static_cast<std::ptrdiff_t>(start), read, out.begin());
  return 0;
}

int PowerCutFileSystem::append(int handle, std::span<const std::byte> bytes) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  File* file = file_of(handle);
  if (file == nullptr) return EBADF;
  const std::uint64_t used = used_bytes();
  const std::uint64_t free = capacity_ > used ? capacity_ - used : 0;
  // A full disk takes what fits, as write(2) does, and leaves the caller to
  // cut the torn record off.
  const auto fitting = static_cast<std::size_t>(std::min<std::uint64_t>(free, bytes.size()));
  file->visible.insert(file->visible.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(fitting));
  bytes_appended_ += fitting;
  if (fitting < bytes.size()) return ENOSPC;
  count_operation();
  return 0;
}

int PowerCutFileSystem::sync(int handle) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  File* file = file_of(handle);
  if (file == nullptr) return EBADF;
  file->durable = file->visible;
  ++sync_count_;
  count_operation();
  return 0;
}

int PowerCutFileSystem::truncate(int handle, std::uint64_t bytes) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  File* file = file_of(handle);
  if (file == nullptr) return EBADF;
  if (bytes > file->visible.max_size()) return EFBIG;
  if (bytes > file->visible.size()) {
    const std::uint64_t used = used_bytes();
    const std::uint64_t growth = bytes - file->visible.size();
    if (used > capacity_ || growth > capacity_ - used) return ENOSPC;
  }
  file->visible.resize(static_cast<std::size_t>(bytes));
  count_operation();
  return 0;
}

int PowerCutFileSystem::rename(const char* from, const char* to) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const std::string source = from;
  const std::string target = to;
  if (source.empty() || target.empty()) return ENOENT;
  // Files only: the journal never renames a directory, and modelling it
  // would mean moving every entry under it.
  if (is_directory(source)) return ENOTSUP;
  if (is_directory(target)) return EISDIR;
  if (!visible_entries_.contains(source)) return ENOENT;
  if (!is_directory(directory_of(target))) return ENOENT;
  if (source != target) {
    // The entry moves with the same file object, so open handles keep
    // reading and writing it under its new name.
    auto entry = visible_entries_.extract(source);
    entry.key() = target;
    visible_entries_.erase(target);
    visible_entries_.insert(std::move(entry));
  }
  count_operation();
  return 0;
}

int PowerCutFileSystem::sync_directory(const char* path) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const std::string directory = directory_name(path);
  if (!is_directory(directory)) return visible_entries_.contains(directory) ? ENOTDIR : ENOENT;
  std::erase_if(durable_entries_, [&](const auto& entry) { return directory_of(entry.first) == directory; });
  for (const auto& [name, file] : visible_entries_) {
    if (directory_of(name) == directory) durable_entries_.emplace(name, file);
  }
  count_operation();
  return 0;
}

int PowerCutFileSystem::remove(const char* path) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const std::string name = path;
  if (name.empty()) return ENOENT;
  if (is_directory(name)) return EISDIR;
  if (visible_entries_.erase(name) == 0) return ENOENT;
  count_operation();
  return 0;
}

int PowerCutFileSystem::exists(const char* path) noexcept {
  const std::lock_guard lock(mutex_);
  if (power_cut_) return power_cut_error;
  const std::string name = path;
  if (name.empty()) return ENOENT;
  return is_directory(name) || visible_entries_.contains(name) ? 0 : ENOENT;
}

std::uint64_t PowerCutFileSystem::operations() const {
  const std::lock_guard lock(mutex_);
  return operations_;
}

void PowerCutFileSystem::cut_power_after(std::uint64_t total) {
  const std::lock_guard lock(mutex_);
  cut_after_ = total;
  if (operations_ >= cut_after_) power_cut_ = true;
}

bool PowerCutFileSystem::power_is_cut() const {
  const std::lock_guard lock(mutex_);
  return power_cut_;
}

std::unique_ptr<PowerCutFileSystem> PowerCutFileSystem::after_power_cut(std::size_t torn_bytes) const {
  const std::lock_guard lock(mutex_);
  return image_locked(torn_bytes).boot();
}

void PowerCutFileSystem::record_power_cuts(std::vector<std::size_t> torn_bytes) {
  const std::lock_guard lock(mutex_);
  recorded_torn_bytes_ = std::move(torn_bytes);
  images_.clear();
  // No image yet: the first one of each torn size is compared with none.
  latest_images_.assign(recorded_torn_bytes_.size(), std::numeric_limits<std::size_t>::max());
  record_images_locked();
}

std::vector<PowerCutFileSystem::PowerCutImage> PowerCutFileSystem::take_power_cut_images() {
  const std::lock_guard lock(mutex_);
  recorded_torn_bytes_.clear();
  latest_images_.clear();
  return std::exchange(images_, {});
}

PowerCutFileSystem::PowerCutImage PowerCutFileSystem::image_locked(std::size_t torn_bytes) const {
  PowerCutImage image;
  // One copy per file, so that two durable names of one file (a rename
  // synced in one directory and not the other) stay one file.
  std::map<const File*, std::shared_ptr<const std::vector<std::byte>>> kept;
  for (const auto& [name, file] : durable_entries_) {
    auto& bytes = kept[file.get()];
    if (!bytes) {
      auto survivor = std::make_shared<std::vector<std::byte>>(file->durable);
      if (file->visible.size() > survivor->size()) {
        const std::size_t torn = std::min(torn_bytes, file->visible.size() - survivor->size());
        const auto tail = file->visible.begin() + static_cast<std::ptrdiff_t>(survivor->size());
        survivor->insert(survivor->end(), tail, tail + static_cast<std::ptrdiff_t>(torn));
      }
      bytes = std::move(survivor);
    }
    image.files_.emplace(name, bytes);
  }
  image.directories_ = directories_;
  image.capacity_ = capacity_;
  return image;
}

std::unique_ptr<PowerCutFileSystem> PowerCutFileSystem::PowerCutImage::boot() const {
  auto booted = std::make_unique<PowerCutFileSystem>();
  std::map<const std::vector<std::byte>*, FilePointer> files;
  for (const auto& [name, bytes] : files_) {
    FilePointer& file = files[bytes.get()];
    if (!file) file = std::make_shared<File>(File{*bytes, *bytes});
    booted->visible_entries_.emplace(name, file);
    booted->durable_entries_.emplace(name, file);
  }
  booted->directories_ = directories_;
  booted->capacity_ = capacity_;
  return booted;
}

bool PowerCutFileSystem::PowerCutImage::operator==(const PowerCutImage& other) const noexcept {
  return directories_ == other.directories_ && capacity_ == other.capacity_ &&
         std::equal(files_.begin(), files_.end(), other.files_.begin(), other.files_.end(),
                    [](const auto& mine, const auto& theirs) {
                      return mine.first == theirs.first &&
                             (mine.second == theirs.second || *mine.second == *theirs.second);
                    });
}

void PowerCutFileSystem::set_capacity(std::uint64_t bytes) {
  const std::lock_guard lock(mutex_);
  capacity_ = bytes;
}

std::uint64_t PowerCutFileSystem::sync_count() const {
  const std::lock_guard lock(mutex_);
  return sync_count_;
}

std::uint64_t PowerCutFileSystem::bytes_appended() const {
  const std::lock_guard lock(mutex_);
  return bytes_appended_;
}

std::vector<std::byte> PowerCutFileSystem::contents(const std::string& path) const {
  const std::lock_guard lock(mutex_);
  const FilePointer file = visible_file(path);
  return file ? file->visible : std::vector<std::byte>{};
}

bool PowerCutFileSystem::has_file(const std::string& path) const {
  const std::lock_guard lock(mutex_);
  return visible_entries_.contains(path);
}

std::vector<std::string> PowerCutFileSystem::files() const {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> paths;
  paths.reserve(visible_entries_.size());
  for (const auto& [name, file] : visible_entries_) paths.push_back(name);
  return paths;
}

void PowerCutFileSystem::corrupt_byte(const std::string& path, std::uint64_t offset) {
  const std::lock_guard lock(mutex_);
  FilePointer file = visible_file(path);
  if (!file) {
    // Removed but not yet durably: the damage should still show after a
    // power cut brings the name back.
    const auto entry = durable_entries_.find(path);
    if (entry == durable_entries_.end()) return;
    file = entry->second;
  }
  for (std::vector<std::byte>* bytes : {&file->visible, &file->durable}) {
    if (offset < bytes->size()) (*bytes)[static_cast<std::size_t>(offset)] ^= corruption_mask;
  }
}

}  // namespace edgerun::test
