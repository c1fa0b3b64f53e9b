# Adds every immediate child directory that has a CMakeLists.txt, in name order, except
# those named after EXCEPT, so a new module, test suite, benchmark or fuzz target needs no
# edit to a shared file.
macro(interlock_add_children)
  cmake_parse_arguments(_IAC "" "" "EXCEPT" ${ARGN})
  file(GLOB _children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _children)
  foreach(_child IN LISTS _children)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_child}/CMakeLists.txt
       AND NOT _child IN_LIST _IAC_EXCEPT)
      add_subdirectory(${_child})
    endif()
  endforeach()
endmacro()
