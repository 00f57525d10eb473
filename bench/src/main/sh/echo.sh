#!/bin/sh
# The worker's echo protocol in POSIX sh, for the process-native model on machines without a C
# compiler (see ../c/echo.c). The connection is fd 0 and fd 1. Lines come back unchanged; a line
# that is "done" once trimmed is answered with "bye!" and ends the session; end of input ends it,
# after echoing a last line that had no newline.
while IFS= read -r line; do
    trimmed=${line#"${line%%[![:space:]]*}"}
    trimmed=${trimmed%"${trimmed##*[![:space:]]}"}
    if [ "$trimmed" = done ]; then
        printf 'bye!\n'
        exit 0
    fi
    printf '%s\n' "$line"
done
printf '%s' "$line"
