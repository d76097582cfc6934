# SPDX-License-Identifier: MIT
{
  "variables": {"sdact_root": "../.."},
  "includes": ["../../native/addon.gypi"],
  "targets": [
    {
      "target_name": "sd_activate_test",
      "sources": [
        "../../native/addon.cc",
        "../../native/builtin.cc",
        "../../native/libsystemd.cc",
        "../../native/notify.cc",
        "../../native/sockets.cc",
        "test_addon.cc"
      ],
      "include_dirs": ["../../native"],
      "defines": ["SDACT_TEST_ADDON"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
