# apt-install, for the main Makefile, mk/vm.mk and mk/rom.mk (included by
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
