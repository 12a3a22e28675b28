# Writes OUT (a C file defining hs_version_build[]) from `git describe --always --dirty` of SRC,
# or FALLBACK when SRC is not a git checkout or git is missing. Run at every build (cmake -P);
# configure_file rewrites OUT only when the text changes, so an unchanged tree rebuilds nothing.
set(version "${FALLBACK} (not a git checkout)")
find_program(GIT git)
if(GIT AND EXISTS "${SRC}/.git")
    execute_process(COMMAND "${GIT}" -C "${SRC}" describe --always --dirty
                    OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND described MATCHES "^[A-Za-z0-9._+-]+$")
        set(version "${FALLBACK} (git ${described})")
    endif()
endif()
set(HS_VERSION_TEXT "${version}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/hs_version_build.c.in" "${OUT}" @ONLY)
