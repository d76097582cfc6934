# SPDX-License-Identifier: MIT
# Compiler and linker settings of the addon, shared by the product
# (binding.gyp) and the test addon (test/native/binding.gyp). Which backend
# to compile comes from scripts/detect-libsystemd.js, as in CMakeLists.txt.
# `sdact_root` is the package root, relative to the including .gyp file.
# (cflags_cc stay in each target: there they come after node's own -std.)
{
  "variables": {"sdact_root%": "."},
  "target_defaults": {
    "variables": {
      "sdact_mode": "<!(node <(sdact_root)/scripts/detect-libsystemd.js mode)"
    },
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["<!@(node <(sdact_root)/scripts/detect-libsystemd.js defines)"],
    "cflags": ["<!@(node <(sdact_root)/scripts/detect-libsystemd.js cflags)", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "libraries": ["<!@(node <(sdact_root)/scripts/detect-libsystemd.js libs)"]
  }
}
