# Configures, builds and runs the consumer in tests/package one way (MODE).
cmake_minimum_required(VERSION 3.20)
file(REMOVE_RECURSE ${BINARY})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -DCMAKE_CXX_COMPILER=${COMPILER} -DKITH_CONSUME=${MODE}
                        -DKITH_SOURCE=${KITH_SOURCE} -DCMAKE_PREFIX_PATH=${PREFIX}
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring the consumer (${MODE}) failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "building the consumer (${MODE}) failed")
endif()
execute_process(COMMAND ${BINARY}/consumer RESULT_VARIABLE result OUTPUT_VARIABLE out)
if(NOT result EQUAL 0 OR NOT out STREQUAL "hello\n")
  message(FATAL_ERROR "the consumer (${MODE}) ran wrong: exit ${result}, output '${out}'")
endif()
