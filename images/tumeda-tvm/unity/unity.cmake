# Included right after the fork's project() (CMAKE_PROJECT_INCLUDE), before its targets exist:
# the source files that cannot share a unity batch with their neighbours compile on their own.
# A file joins this list when unity-cc.sh reports its batch "failed to compile as one unit"
# (the fallback keeps the build correct either way; the list only saves that batch's retry).
set(MCUORCH_UNITY_SOLO
)
foreach(file IN LISTS MCUORCH_UNITY_SOLO)
  set_source_files_properties("${CMAKE_SOURCE_DIR}/${file}" PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
endforeach()
