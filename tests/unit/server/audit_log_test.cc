#include "server/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace signet::server {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/signet-audit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static AuditEvent Event(int i) {
    return std::move(AuditEvent("issue", Caller{}, "ipv4:127.0.0.1:1").Int("n", i));
  }

  // Polls `done` for up to 10 s.
  template <typename F>
  static bool Eventually(F done) {
    for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return done();
  }

  std::string dir_;
};

// Every record of many concurrent callers is in the file exactly once, as a whole JSON line, once
// the callers have returned.
TEST_F(AuditLogTest, ConcurrentRecordsAreAllWrittenWholeAndOnce) {
  const std::string path = dir_ + "/audit.log";
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kThreads = 8, kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) (*log)->Record(Event(t * kEach + i));
    });
  }
  for (std::thread& t : threads) t.join();
  const AuditLog::Stats stats = (*log)->stats();
  EXPECT_EQ(stats.records_queued, uint64_t{kThreads * kEach});
  EXPECT_EQ(stats.records_written, uint64_t{kThreads * kEach});
  EXPECT_GE(stats.batches, 1u);
  EXPECT_LE(stats.batches, uint64_t{kThreads * kEach});

  std::ifstream in(path);
  std::set<int64_t> seen;
  std::string line;
  while (std::getline(in, line)) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    ASSERT_FALSE(doc.HasParseError()) << line;
    ASSERT_TRUE(doc.HasMember("n") && doc["n"].IsInt64()) << line;
    EXPECT_TRUE(seen.insert(doc["n"].GetInt64()).second) << "twice: " << line;
  }
  EXPECT_EQ(seen.size(), size_t{kThreads * kEach});
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Group commit, performed on a pipe whose reader stops reading: the first caller's write blocks
// (and that caller does not return before its record is written); callers arriving meanwhile queue
// and do not return either; once the reader drains the pipe, all of them are written with one more
// write, not one each.
TEST_F(AuditLogTest, CallersArrivingDuringAWriteShareTheNextOneAndWaitForIt) {
  const std::string fifo = dir_ + "/audit.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(fifo);
  ASSERT_TRUE(log.ok()) << log.status();
  // Fill the pipe, so that the next write blocks.
  const int filler = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(filler, 0);
  size_t filled = 0;
  const std::string chunk(4096, 'x');
  for (size_t size : {chunk.size(), size_t{1}}) {  // Whole pages, then the last bytes.
    for (ssize_t n; (n = write(filler, chunk.data(), size)) > 0;) filled += n;
  }
  close(filler);

  std::atomic<int> returned{0};
  std::thread first([&] {
    (*log)->Record(Event(0));
    returned.fetch_add(1);
  });
  ASSERT_TRUE(Eventually([&] { return (*log)->stats().records_queued == 1; }));
  constexpr int kLater = 9;
  std::vector<std::thread> later;
  for (int i = 1; i <= kLater; ++i) {
    later.emplace_back([&, i] {
      (*log)->Record(Event(i));
      returned.fetch_add(1);
    });
  }
  ASSERT_TRUE(Eventually([&] { return (*log)->stats().records_queued == 1 + kLater; }));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(returned.load(), 0) << "a caller returned before its record was written";
  EXPECT_EQ((*log)->stats().records_written, 0u);

  // Drain: the filler's bytes, then the ten records.
  std::string got;
  char buf[65536];
  auto drain = [&] {
    for (ssize_t n; (n = read(reader, buf, sizeof buf)) > 0;) got.append(buf, n);
  };
  ASSERT_TRUE(Eventually([&] {
    drain();
    return returned.load() == 1 + kLater;
  }));
  first.join();
  for (std::thread& t : later) t.join();
  drain();
  close(reader);

  const AuditLog::Stats stats = (*log)->stats();
  EXPECT_EQ(stats.records_written, uint64_t{1 + kLater});
  EXPECT_EQ(stats.batches, 2u) << "the nine waiting records should go in one write";
  ASSERT_GE(got.size(), filled);
  std::vector<std::string> lines = absl::StrSplit(got.substr(filled), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), size_t{1 + kLater});
  EXPECT_NE(lines[0].find("\"n\":0"), std::string::npos) << lines[0];
}

// A log that cannot be written (a full disk) neither blocks nor crashes its callers.
TEST_F(AuditLogTest, AWriteFailureReturnsAndLaterRecordsStillReturn) {
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open("/dev/full");
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Record(Event(1));
  (*log)->Record(Event(2));
  EXPECT_EQ((*log)->stats().records_written, 2u);
}

TEST_F(AuditLogTest, AFolderThatDoesNotExistIsUnavailableNamingThePath) {
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(dir_ + "/missing/audit.log");
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(log.status().message().find("missing/audit.log"), std::string::npos);
}

}  // namespace
}  // namespace signet::server
