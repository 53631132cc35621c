# signet_store_postgres: the PostgreSQL store shared by replicas (libpq; LISTEN/NOTIFY).
# Included from server/CMakeLists.txt. CMake's FindPostgreSQL module finds Debian 12's libpq-dev
# (it needs only libpq-fe.h and libpq, not the server headers).
find_package(PostgreSQL REQUIRED)

add_library(signet_store_postgres
  ${CMAKE_CURRENT_LIST_DIR}/postgres_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/pg_notify_payload.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/pg_schema.cc
  ${CMAKE_CURRENT_LIST_DIR}/internal/pg_session.cc)
target_include_directories(signet_store_postgres
  PUBLIC ${PROJECT_SOURCE_DIR}
  PRIVATE ${RAPIDJSON_INCLUDE_DIR})
target_link_libraries(signet_store_postgres
  PUBLIC signet_store
  PRIVATE PostgreSQL::PostgreSQL Threads::Threads absl::strings absl::synchronization absl::time)
