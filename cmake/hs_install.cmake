# `cmake --install BUILD --prefix P` (issue 13): the programs in P/bin, the docs and the example
# ceremony configs in P/share/doc/hsmsign, and the man pages hsmsign(1), hsmsignd(8) and
# keyceremony(8) in P/share/man, generated at build time from docs/client.md, docs/api.md and
# docs/ceremony.md with go-md2man (Debian: go-md2man, installed by scripts/deps.sh). Without
# go-md2man the man pages are skipped with a message; under CI=true that is an error.
include(GNUInstallDirs)

install(TARGETS hsmsignd keyceremony hsmsign hsmsign-authorizer
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB HS_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${HS_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/keyceremony/examples/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/keyceremony)

find_program(HS_MD2MAN go-md2man)
if(NOT HS_MD2MAN)
    if("$ENV{CI}" STREQUAL "true")
        message(FATAL_ERROR "go-md2man is missing (scripts/deps.sh installs it); under CI the "
                            "man pages must build")
    endif()
    message(STATUS "go-md2man not found: man pages skipped (scripts/deps.sh installs it)")
    return()
endif()

set(HS_MAN_DIR ${PROJECT_BINARY_DIR}/man)
set(HS_MAN_PAGES)
# hs_man_page(NAME SECTION DOC SUMMARY SYNOPSIS): one page from docs/DOC.
function(hs_man_page name section doc summary synopsis)
    set(out ${HS_MAN_DIR}/${name}.${section})
    add_custom_command(OUTPUT ${out}
                       COMMAND ${CMAKE_COMMAND} -E make_directory ${HS_MAN_DIR}
                       COMMAND ${CMAKE_COMMAND} -DMD2MAN=${HS_MD2MAN} -DNAME=${name}
                               -DSECTION=${section} -DSRC=${PROJECT_SOURCE_DIR}/docs/${doc}
                               -DOUT=${out} -DVERSION=${PROJECT_VERSION} -DSUMMARY=${summary}
                               -DSYNOPSIS=${synopsis} -P ${PROJECT_SOURCE_DIR}/cmake/hs_manpage.cmake
                       DEPENDS ${PROJECT_SOURCE_DIR}/docs/${doc}
                               ${PROJECT_SOURCE_DIR}/cmake/hs_manpage.cmake
                       COMMENT "man page ${name}(${section}) from docs/${doc}" VERBATIM)
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
    set(HS_MAN_PAGES ${HS_MAN_PAGES} ${out} PARENT_SCOPE)
endfunction()
hs_man_page(hsmsign 1 client.md "" "")
hs_man_page(hsmsignd 8 api.md "the hsmsign signing service (HTTP server or AWS Lambda runtime)"
            "hsmsignd --config FILE|hsmsignd --version [--module PATH]|hsmsignd --help")
hs_man_page(keyceremony 8 ceremony.md
            "create hsmsign's CA, JWT and SSH CA keys inside a PKCS#11 token"
            "keyceremony STEP [retire KID] --config FILE [--dry-run]|keyceremony --version [--module PATH]|keyceremony --help")
add_custom_target(hs_man ALL DEPENDS ${HS_MAN_PAGES})
