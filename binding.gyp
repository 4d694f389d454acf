# The build is CMake (CMakeLists.txt, through cmake-js); this file exists so that tools that look
# for node-gyp projects (npm, prebuildify) recognise a native package. `npm run build:native`
# is the real build.
{
  "targets": []
}
