# Included by sw/CMakeLists.txt (the C++ hook): the kernels as a static library compiled like
# `app`, the model itself as a C++ source of `app`.
add_library(tiny_kernels STATIC "${CMAKE_CURRENT_LIST_DIR}/kernels/kernels.cc")
mcuorch_target_flags(tiny_kernels)
target_compile_options(tiny_kernels PRIVATE -Wall -Wextra)
target_include_directories(tiny_kernels PUBLIC "${CMAKE_CURRENT_LIST_DIR}/kernels")

target_sources(app PRIVATE "${CMAKE_CURRENT_LIST_DIR}/model.cc")
set_source_files_properties("${CMAKE_CURRENT_LIST_DIR}/model.cc" PROPERTIES COMPILE_OPTIONS "-Wall;-Wextra")
target_link_libraries(app PRIVATE tiny_kernels)

# Vtables refer to __cxa_pure_virtual weakly; asking for it shows that the C++ runtime
# (libsupc++) provides it.
target_link_options(app PRIVATE -Wl,--undefined=__cxa_pure_virtual)
