// The contract every Store keeps (tests/unit/store/store_test.cc), written once and run against
// each implementation: memory and SQLite (embedded_stores_test.cc), PostgreSQL
// (tests/unit/postgres/postgres_store_test.cc).
//
// Example:
//   INSTANTIATE_TEST_SUITE_P(Mine, StoreTest, ::testing::Values(StoreKind{"Mine", OpenMine}),
//                            [](const auto& info) { return info.param.name; });
#ifndef SIGNET_TESTS_UNIT_STORE_STORE_TEST_H_
#define SIGNET_TESTS_UNIT_STORE_STORE_TEST_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "server/store/store.h"
#include "tests/unit/store/test_util.h"

namespace signet::server::testing {

struct StoreKind {
  std::string name;
  // Opens a new, empty store. `folder` is the test's own; what must outlive the store (a database
  // of its own, say) goes to *resources, released after the store is destroyed.
  std::function<absl::StatusOr<std::unique_ptr<Store>>(const std::string& folder,
                                                       std::shared_ptr<void>* resources)>
      open;
  // Empty when the store can be tested here, otherwise why not (its tests are then skipped).
  std::function<std::string()> unavailable = [] { return std::string(); };
};

inline void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

class StoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // UpdateKeys with a decision that always makes `changes`; the keys after, or none on failure
  // (the test has failed then).
  std::vector<KeyRecord> Update(const KeyChanges& changes);
  std::vector<KeyRecord> Keys();
  StoreSnapshot Snapshot();

  TempFolder folder_;
  std::shared_ptr<void> resources_;
  std::unique_ptr<Store> store_;
};

}  // namespace signet::server::testing

#endif  // SIGNET_TESTS_UNIT_STORE_STORE_TEST_H_
