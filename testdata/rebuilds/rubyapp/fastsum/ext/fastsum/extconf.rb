require "mkmf"

$CFLAGS << " -Wall"
have_header("stdint.h") or abort "stdint.h is missing"
create_makefile("fastsum/fastsum")
