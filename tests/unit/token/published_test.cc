#include "signet/published.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace signet::internal {
namespace {

struct Value {
  int n = 0;
  // Both halves are written together: a reader that sees them differ saw a torn value.
  int copy = 0;
};

std::shared_ptr<const Value> Make(int n) { return std::make_shared<const Value>(Value{n, n}); }

TEST(PublishedTest, ReadSeesEachPublication) {
  Published<Value> published;
  EXPECT_EQ(published.Load(), nullptr);
  published.Publish(Make(1));
  EXPECT_EQ(published.Read().n, 1);
  const uint64_t first = published.publication();
  published.Publish(Make(2));
  EXPECT_NE(published.publication(), first);
  EXPECT_EQ(published.Read().n, 2);
  EXPECT_EQ(published.Load()->n, 2);
}

TEST(PublishedTest, TwoInstancesReadOnOneThreadNeverMix) {
  // The thread keeps one value per type: alternating between instances must re-take each one's.
  Published<Value> a;
  Published<Value> b;
  a.Publish(Make(10));
  b.Publish(Make(20));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.Read().n, 10);
    EXPECT_EQ(b.Read().n, 20);
  }
  b.Publish(Make(21));
  EXPECT_EQ(a.Read().n, 10);
  EXPECT_EQ(b.Read().n, 21);
}

TEST(PublishedTest, ReadersOnManyThreadsSeeWholeValuesThatNeverGoBack) {
  Published<Value> published;
  published.Publish(Make(0));
  constexpr int kLast = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> went_back{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      int seen = 0;
      while (!done.load()) {
        const Value& v = published.Read();
        if (v.n != v.copy) torn.fetch_add(1);
        if (v.n < seen) went_back.fetch_add(1);
        seen = v.n;
      }
      // After the last publication every thread reads the last value.
      if (published.Read().n != kLast) went_back.fetch_add(1);
    });
  }
  for (int n = 1; n <= kLast; ++n) published.Publish(Make(n));
  done.store(true);
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(went_back.load(), 0);
}

}  // namespace
}  // namespace signet::internal
