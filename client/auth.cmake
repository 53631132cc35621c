# The server side of the client library, part of signet::client: the auth interceptor, the bearer
# AuthMetadataProcessor and the handlers' CallIdentity. Also the signetctl CLI.
target_sources(signet_client PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/auth_failure.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/auth_interceptor.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/auth_metadata_processor.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/auth_policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/call_identity.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/internal/authenticate.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/internal/identity_table.cc)
target_include_directories(signet_client PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src)
target_link_libraries(signet_client PUBLIC absl::flat_hash_map PRIVATE absl::hash absl::strings)

add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/signetctl)
