# The gateway decision and its two front ends (Envoy ext_authz over gRPC, HTTP forward-auth),
# part of signet_server_lib.
target_sources(signet_server_lib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ext_authz_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/forward_auth.cc
  ${CMAKE_CURRENT_LIST_DIR}/gateway.cc
  ${CMAKE_CURRENT_LIST_DIR}/gateway_rules.cc)
# The bearer header parser and failure messages are the client library's (signet/bearer_token.h).
target_link_libraries(signet_server_lib PRIVATE signet_client)
