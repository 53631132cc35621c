// The Store contract (store_test.h) against the stores built into signet-server: memory and SQLite.
#include <memory>
#include <string>

#include "server/store/internal/sqlite_store.h"
#include "tests/unit/store/store_test.h"

namespace signet::server::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Embedded, StoreTest,
    ::testing::Values(
        StoreKind{"Memory",
                  [](const std::string&, std::shared_ptr<void>*)
                      -> absl::StatusOr<std::unique_ptr<Store>> { return NewMemoryStore(); }},
        StoreKind{"Sqlite",
                  [](const std::string& folder,
                     std::shared_ptr<void>*) -> absl::StatusOr<std::unique_ptr<Store>> {
                    return OpenSqliteStore(folder + "/data/signet.db");
                  }}),
    [](const ::testing::TestParamInfo<StoreKind>& info) { return info.param.name; });

}  // namespace
}  // namespace signet::server::testing
