dnl hs_options.m4 — headscope's own configure switches: warnings/-Werror, native tuning, sanitizers.

dnl HS_COMPILER_WARNINGS: warnings on; --enable-werror turns them into errors.
AC_DEFUN([HS_COMPILER_WARNINGS], [
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--enable-werror], [treat compiler warnings as errors])],
    [hs_enable_werror=$enableval], [hs_enable_werror=no])
  HS_WARN_CFLAGS="-Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
  AS_IF([test "x$hs_enable_werror" = xyes], [HS_WARN_CFLAGS="$HS_WARN_CFLAGS -Werror"])
  AC_SUBST([HS_WARN_CFLAGS])
])

dnl HS_ARG_NATIVE: -march=native unless --disable-native (the binary then runs only on CPUs like this one).
AC_DEFUN([HS_ARG_NATIVE], [
  AC_ARG_ENABLE([native],
    [AS_HELP_STRING([--disable-native], [do not tune for the build machine's CPU (-march=native)])],
    [hs_enable_native=$enableval], [hs_enable_native=yes])
  HS_NATIVE_CFLAGS=
  AS_IF([test "x$hs_enable_native" = xyes], [
    hs_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -march=native"
    AC_MSG_CHECKING([whether $CC accepts -march=native])
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AC_MSG_RESULT([yes]); HS_NATIVE_CFLAGS=-march=native],
      [AC_MSG_RESULT([no]); hs_enable_native=no])
    CFLAGS=$hs_save_CFLAGS
  ])
  AC_SUBST([HS_NATIVE_CFLAGS])
])

dnl HS_ARG_SANITIZERS: --enable-sanitizers builds everything with AddressSanitizer and UBSan.
AC_DEFUN([HS_ARG_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers], [build with -fsanitize=address,undefined (for make check)])],
    [hs_enable_sanitizers=$enableval], [hs_enable_sanitizers=no])
  HS_SAN_CFLAGS=
  AS_IF([test "x$hs_enable_sanitizers" = xyes],
    [HS_SAN_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"])
  AC_SUBST([HS_SAN_CFLAGS])
])
