# apt-install and apt-download, for the main Makefile, mk/vm.mk and mk/rom.mk (included by
# the two, which also run alone).

APT_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# $(call apt-install,PACKAGES) is a recipe line that installs those of the
# Debian packages that are missing (apt-get update only then).
apt-install = @missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(APT_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(APT_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# $(call apt-download,DIR,PACKAGE) is recipe text, for a shell with set -e,
# that sets deb to DIR/PACKAGE_*.deb, which apt-get download fetches when
# DIR has none (apt-get update only when that fails). PACKAGE may be a
# shell variable: $${pkg}.
apt-download = mkdir -p $(1); \
	deb=$$(ls $(1)/$(2)_*.deb 2>/dev/null | head -n1); \
	if [ -z "$$deb" ]; then \
		(cd $(1) && apt-get download $(2)) || \
		{ $(APT_SUDO) apt-get update -q && (cd $(1) && apt-get download $(2)); }; \
		deb=$$(ls $(1)/$(2)_*.deb | head -n1); \
	fi
