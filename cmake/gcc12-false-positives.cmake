# g++ 12's known false positives, for turning off per target or per source
# file (never for the whole build), each named after the GCC bug it comes
# from. They show at -O2 and above (the release preset), not in the dev
# preset's -O1. Only g++ 12 gets these flags: clang warns about -Wno-
# options it does not know, and later GCCs no longer report these.
set(fanout_is_gcc12 "$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>")

# -Wrestrict inside libstdc++'s basic_string::_M_replace ("accessing
# 9223372036854775810 or more bytes ... may overlap"), reached from
# "text" + a std::string temporary, std::string::insert of a literal and
# assigning a one-character literal: GCC bugs 105329 and 105651.
set(FANOUT_GCC12_NO_STRING_RESTRICT "$<${fanout_is_gcc12}:-Wno-restrict>")

