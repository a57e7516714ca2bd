# Included right after the fork's project() (CMAKE_PROJECT_INCLUDE), before its targets exist:
# the source files that cannot share a unity batch with their neighbours compile on their own.
# A file joins this list when unity-cc.sh reports its batch "failed to compile as one unit"
# naming it (the launcher's split keeps the build correct either way; the list saves the
# failed attempt, about one batch's compile time each).
set(MCUORCH_UNITY_SOLO
  src/relay/backend/contrib/cmsisnn/tir_to_runtime.cc
  src/relay/collage/mock_cost_estimator.cc
  src/relay/printer/text_printer.cc
  src/target/opt/build_rocm_off.cc
  src/tir/usmp/transform/create_io_allocates.cc
)
foreach(file IN LISTS MCUORCH_UNITY_SOLO)
  set_source_files_properties("${CMAKE_SOURCE_DIR}/${file}" PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
endforeach()
