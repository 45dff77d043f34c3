// Boost.JSON and Boost.URL compiled with the fuzz targets' instrumentation, in place of Debian's
// uninstrumented shared libraries: coverage inside the parsers then guides the fuzzer.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
