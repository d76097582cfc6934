{
  "targets": [
    {
      "target_name": "sd_activate",
      "sources": [
        "native/addon.cc",
        "native/builtin.cc",
        "native/libsystemd.cc",
        "native/notify.cc",
        "native/sockets.cc"
      ],
      "variables": {
        "sdact_mode": "<!(node scripts/detect-libsystemd.js mode)"
      },
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["<!@(node scripts/detect-libsystemd.js defines)"],
      "cflags": ["<!@(node scripts/detect-libsystemd.js cflags)", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "libraries": ["<!@(node scripts/detect-libsystemd.js libs)"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
