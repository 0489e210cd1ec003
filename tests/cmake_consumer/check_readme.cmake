# Fails unless README contains EXAMPLE's text between its example markers.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "<!-- example: tests/cmake_consumer/main.cpp -->\n```cpp\n${example}```\n<!-- end example -->" at)
if(at EQUAL -1)
    message(FATAL_ERROR "README.md's embedding example differs from ${EXAMPLE}: copy the file into the README block")
endif()
