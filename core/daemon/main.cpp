#include "daemon.hpp"

int main(int argc, char** argv) { return edgerun::daemon_main(argc, argv); }
