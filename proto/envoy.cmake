# Envoy's external authorization API (envoy.service.auth.v3) as signet serves it: the messages and
# the service signet uses, compiled into signet_proto beside the v1 API.
set(SIGNET_ENVOY_PROTOS
  envoy/config/core/v3/base
  envoy/type/v3/http_status
  envoy/service/auth/v3/attribute_context
  envoy/service/auth/v3/external_auth
  google/rpc/status)
set(SIGNET_ENVOY_PROTO_FILES "")
set(SIGNET_ENVOY_PROTO_OUTS "")
foreach(p ${SIGNET_ENVOY_PROTOS})
  list(APPEND SIGNET_ENVOY_PROTO_FILES ${CMAKE_CURRENT_SOURCE_DIR}/${p}.proto)
  list(APPEND SIGNET_ENVOY_PROTO_OUTS ${SIGNET_PROTO_OUT}/${p}.pb.cc ${SIGNET_PROTO_OUT}/${p}.pb.h)
endforeach()
set(SIGNET_ENVOY_GRPC_OUTS
  ${SIGNET_PROTO_OUT}/envoy/service/auth/v3/external_auth.grpc.pb.cc
  ${SIGNET_PROTO_OUT}/envoy/service/auth/v3/external_auth.grpc.pb.h)
add_custom_command(
  OUTPUT ${SIGNET_ENVOY_PROTO_OUTS} ${SIGNET_ENVOY_GRPC_OUTS}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SIGNET_PROTO_OUT}
  COMMAND protobuf::protoc
    --proto_path=${CMAKE_CURRENT_SOURCE_DIR}
    --cpp_out=${SIGNET_PROTO_OUT}
    ${SIGNET_ENVOY_PROTO_FILES}
  COMMAND protobuf::protoc
    --proto_path=${CMAKE_CURRENT_SOURCE_DIR}
    --grpc_out=${SIGNET_PROTO_OUT}
    --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
    ${CMAKE_CURRENT_SOURCE_DIR}/envoy/service/auth/v3/external_auth.proto
  DEPENDS ${SIGNET_ENVOY_PROTO_FILES} protobuf::protoc gRPC::grpc_cpp_plugin
  COMMENT "Generating C++ from Envoy's external authorization protos")
set(SIGNET_ENVOY_SRCS ${SIGNET_ENVOY_PROTO_OUTS} ${SIGNET_ENVOY_GRPC_OUTS})
list(FILTER SIGNET_ENVOY_SRCS INCLUDE REGEX "\\.cc$")
target_sources(signet_proto PRIVATE ${SIGNET_ENVOY_SRCS})
set_source_files_properties(${SIGNET_ENVOY_SRCS} PROPERTIES COMPILE_OPTIONS "-w")
