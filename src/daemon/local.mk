# scwsemu, the daemon: src/main.c wires a rack of cards (src/daemon/).
bin_PROGRAMS += src/scwsemu
src_scwsemu_SOURCES = src/main.c src/daemon/daemon.h src/daemon/unit.c
src_scwsemu_LDADD = src/config/libcli.a $(LIBSCWS) $(DEP_LIBS)
