# Compiling C files with the arch variant's `model_compiler` (sw/cmake/target.cmake sets
# MCUORCH_MODEL_CC and MCUORCH_MODEL_COMPILER_FLAGS): clang for the RISC-V vector intrinsics
# GCC 12 lacks. Only the model's code goes through it; the harness, a runtime's C++ and the
# link stay GCC's, so two builds of one model differ in the kernels alone.
#
#   mcuorch_model_compile(<objects-var> <source-root> <object-subdir>
#                         SOURCES <file>... [INCLUDES <dir>...] [DEFINES <def>...] [OPTIONS <flag>...])
#
# Each source becomes CMakeFiles/app.dir/<object-subdir>/<path below source-root>.obj (the ROM
# split classifies objects by that path: see orchestrator/metrics/rom_origin.py); the object list
# goes to <objects-var>, ready to be added as sources of a target. Flags: the compiler's own, the
# target's C flags, the run's optimisation level, then the includes, the C library's header
# folders (what GCC searches with the same specs; GCC's private headers are left to the other
# compiler's own stddef.h and stdint.h) and the caller's options.

function(mcuorch_model_libc_includes out)
  if(DEFINED MCUORCH_MODEL_LIBC_INCLUDES)
    set(${out} "${MCUORCH_MODEL_LIBC_INCLUDES}" PARENT_SCOPE)
    return()
  endif()
  execute_process(COMMAND "${MCUORCH_CC}" ${MCUORCH_ARCH_FLAGS} --specs=picolibc.specs -E -Wp,-v -x c /dev/null
                  OUTPUT_QUIET ERROR_VARIABLE search RESULT_VARIABLE failed)
  if(failed)
    mcuorch_fail("${MCUORCH_COMPILER} could not name its C library's header folders")
  endif()
  string(REPLACE "\n" ";" search "${search}")
  set(dirs "")
  foreach(line IN LISTS search)
    string(STRIP "${line}" dir)
    if(line MATCHES "^ /" AND IS_DIRECTORY "${dir}")
      get_filename_component(dir "${dir}" REALPATH)
      if(NOT dir MATCHES "/lib/gcc/")
        list(APPEND dirs "-isystem" "${dir}")
      endif()
    endif()
  endforeach()
  set(MCUORCH_MODEL_LIBC_INCLUDES "${dirs}" CACHE INTERNAL "C library headers for the model compiler")
  set(${out} "${dirs}" PARENT_SCOPE)
endfunction()

function(mcuorch_model_compile out root subdir)
  cmake_parse_arguments(arg "" "" "SOURCES;INCLUDES;DEFINES;OPTIONS" ${ARGN})
  mcuorch_model_libc_includes(libc_includes)
  list(TRANSFORM arg_INCLUDES PREPEND "-I")
  list(TRANSFORM arg_DEFINES PREPEND "-D")
  set(objects "")
  foreach(src IN LISTS arg_SOURCES)
    file(RELATIVE_PATH rel "${root}" "${src}")
    set(obj "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/app.dir/${subdir}/${rel}.obj")
    get_filename_component(obj_dir "${obj}" DIRECTORY)
    add_custom_command(OUTPUT "${obj}"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${obj_dir}"
      COMMAND "${MCUORCH_MODEL_CC}" ${MCUORCH_MODEL_COMPILER_FLAGS} ${MCUORCH_TARGET_C_FLAGS}
              "-O${MCUORCH_OPTIMIZE}" -g -std=gnu99 ${arg_INCLUDES} ${libc_includes} ${arg_DEFINES}
              ${arg_OPTIONS} -MD -MF "${obj}.d" -c "${src}" -o "${obj}"
      DEPENDS "${src}" DEPFILE "${obj}.d"
      COMMENT "Building C object ${subdir}/${rel}.obj with ${MCUORCH_MODEL_COMPILER}"
      COMMAND_EXPAND_LISTS VERBATIM)
    list(APPEND objects "${obj}")
  endforeach()
  set(${out} "${objects}" PARENT_SCOPE)
endfunction()
