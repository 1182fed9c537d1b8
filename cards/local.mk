## cards: the shipped card profiles (scwsemu-profile(5)), installed under
## $(pkgdatadir)/cards/ with their relative layout, so that ../../pki/ still
## names the test certificates there.
nobase_dist_pkgdata_DATA += \
	cards/default/card.conf \
	cards/default/bootstrap.xml \
	cards/default/index.html \
	cards/auth/card.conf \
	cards/empty/card.conf \
	cards/psk-only/card.conf \
	cards/legacy/card.conf \
	cards/xml/card.conf \
	cards/pin/card.conf

dist_man_MANS += doc/scwsemu-profile.5
