# Writes the man page OUT from the Markdown document SRC with go-md2man (MD2MAN), run at build
# time (cmake -P). The page gets a .TH line (NAME, SECTION, the project VERSION); SRC's own
# top-level "# " title is dropped, and when SRC has no "## NAME" section one is written from
# SUMMARY, with a SYNOPSIS from SYNOPSIS (lines separated by "|").
file(READ "${SRC}" body)
string(REGEX REPLACE "^# [^\n]*\n" "" body "${body}")
set(head "% ${NAME} ${SECTION} \"hsmsign ${VERSION}\" \"hsmsign manual\"\n\n")
if(NOT body MATCHES "(^|\n)## NAME\n")
    string(REPLACE "|" "\n" synopsis "${SYNOPSIS}")
    string(APPEND head "## NAME\n\n${NAME} - ${SUMMARY}\n\n## SYNOPSIS\n\n```\n${synopsis}\n```\n\n"
                       "## DESCRIPTION\n\n")
endif()
file(WRITE "${OUT}.md" "${head}${body}")
execute_process(COMMAND "${MD2MAN}" -in "${OUT}.md" -out "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "go-md2man failed on ${SRC}")
endif()
file(REMOVE "${OUT}.md")
