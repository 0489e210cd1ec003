# Fails unless README contains EXAMPLE's text between its example markers
# ("<!-- example: tests/cmake_consumer/NAME -->" ... "<!-- end example -->").
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
get_filename_component(name "${EXAMPLE}" NAME)
string(FIND "${readme}" "<!-- example: tests/cmake_consumer/${name} -->\n```cpp\n${example}```\n<!-- end example -->" at)
if(at EQUAL -1)
    message(FATAL_ERROR "README.md's example differs from ${EXAMPLE}: copy the file into the README block")
endif()
