# Run by ctest (cmake -P): install signet's development package into a fresh prefix, then build
# and run a project that finds it with find_package(signet CONFIG REQUIRED), build the same program
# with nothing but pkg-config, and generate code from the installed .proto.
foreach(var SIGNET_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${SIGNET_BINARY_DIR} --prefix ${prefix} --component signet_dev)
include(GNUInstallDirs)
foreach(f include/signet/client.h include/signet/token_verifier.h
          include/signet/v1/token_service.grpc.pb.h lib/cmake/signet/signetConfig.cmake
          ${CMAKE_INSTALL_LIBDIR}/pkgconfig/signet.pc share/signet/proto/signet/v1/token_service.proto)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_C_COMPILER=${C_COMPILER}
    "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}")
run(${CMAKE_COMMAND} --build ${build})
run(${build}/signet_consumer)
if(NOT last_output MATCHES "consumer ok")
  message(FATAL_ERROR "unexpected output: ${last_output}")
endif()
message(STATUS "${last_output}")

# pkg-config: the same program, compiled and linked with its flags alone.
set(ENV{PKG_CONFIG_PATH} ${prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig)
run(pkg-config --cflags --libs signet)
string(STRIP "${last_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(extra UNIX_COMMAND "${EXTRA_FLAGS}")
run(${CXX_COMPILER} -std=c++17 ${extra} ${CONSUMER_SOURCE_DIR}/main.cc -o ${WORK_DIR}/pc_consumer
    ${pc_flags})
run(${WORK_DIR}/pc_consumer)
if(NOT last_output MATCHES "consumer ok")
  message(FATAL_ERROR "pkg-config build: unexpected output: ${last_output}")
endif()

# The installed .proto generates code on its own (where pkg-config says it is).
run(pkg-config --variable=protodir signet)
string(STRIP "${last_output}" protodir)
file(MAKE_DIRECTORY ${WORK_DIR}/generated)
run(protoc --proto_path=${protodir} --cpp_out=${WORK_DIR}/generated
    ${protodir}/signet/v1/token_service.proto)
if(NOT EXISTS ${WORK_DIR}/generated/signet/v1/token_service.pb.h)
  message(FATAL_ERROR "protoc made nothing from the installed token_service.proto")
endif()
message(STATUS "pkg-config build and protoc on the installed .proto: ok")
