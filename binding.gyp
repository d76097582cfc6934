# SPDX-License-Identifier: MIT
{
  "includes": ["native/addon.gypi"],
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
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
