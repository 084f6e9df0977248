# A real OpenLDAP slapd for the directory tests (sourced): its own cn=config directory,
# database and certificates under $SLAPD_DIR, listening on the loopback of whatever
# namespace it is started in, stopped by its PID.  Nothing of the system's slapd is used
# (Debian's package is installed without a configuration: tools/install-deps.sh).
#
#   slapd_init DIR SCHEMA_LDIF [syncprov|nosync]   certificates (a CA, the server's for
#                                  127.0.0.1, host h1's client certificate; and a second CA
#                                  that signed nothing we use), cn=config, the base entries
#   slapd_start [NETNS]            slapd -h ldap://127.0.0.1:$SLAPD_PORT ldaps://...:$SLAPD_PORTS
#                                  (ldaps also on 127.0.0.2, a name its certificate does not have)
#   slapd_stop                     SIGTERM by PID, and waits
#   ldap_admin CMD ARGS...         ldapadd/ldapmodify/... as the directory's administrator
#   slapd_admin_bootstrap FILE     a bootstrap file for softsa publish as the administrator
#
# The tree (doc/directory.md, a smaller worked example):
#   dc=example,dc=com
#     ou=policies     cn=web (softsaPolicy)
#     ou=hosts
#       ou=servers    <- assignment: cn=web
#         cn=h1       (device, simple bind with password h1-secret; certificate CN=h1)
#     ou=lonely
#       cn=h2         (no assignment anywhere above it)
#     ou=groups
SLAPD_BASE="dc=example,dc=com"
SLAPD_ADMIN="cn=admin,$SLAPD_BASE"
SLAPD_ADMIN_PW="admin-secret"
SLAPD_PORT=3389
SLAPD_PORTS=3636
SLAPD_PID=""
SLAPD_NS=""

slapd_certs() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=softsa test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=some other CA" \
		-keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/server.ext"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" \
		-out "$d/server.csr" 2>/dev/null || return 1
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null || return 1
	# The host's certificate: its subject is its entry's DN, which SASL EXTERNAL binds as.
	openssl req -newkey rsa:2048 -nodes -subj "/DC=com/DC=example/OU=hosts/OU=servers/CN=h1" \
		-keyout "$d/h1.key" -out "$d/h1.csr" 2>/dev/null || return 1
	openssl x509 -req -in "$d/h1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -out "$d/h1.pem" 2>/dev/null || return 1
	chmod 600 "$d"/*.key
}

slapd_config() { # DIR SCHEMA syncprov|nosync
	local d=$1 schema=$2 sync=$3 overlay="" module=""
	if [ "$sync" = syncprov ]; then
		module="olcModuleLoad: syncprov"
		overlay="
dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
"
	fi
	cat > "$d/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcTLSCACertificateFile: $d/ca.pem
olcTLSCertificateFile: $d/server.pem
olcTLSCertificateKeyFile: $d/server.key
olcTLSVerifyClient: try

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
$module

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file://$schema

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 100000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $d/db
olcDbMaxSize: 67108864
olcSuffix: $SLAPD_BASE
olcRootDN: $SLAPD_ADMIN
olcRootPW: $SLAPD_ADMIN_PW
olcDbIndex: objectClass eq
olcDbIndex: member eq
olcDbIndex: entryCSN,entryUUID eq
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none
olcLimits: {0}* size.unchecked=unlimited size=unlimited
$overlay
LDIF
}

slapd_data() {
	cat > "$SLAPD_DIR/base.ldif" <<LDIF
dn: $SLAPD_BASE
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: ou=policies,$SLAPD_BASE
objectClass: organizationalUnit
ou: policies

dn: ou=hosts,$SLAPD_BASE
objectClass: organizationalUnit
ou: hosts

dn: ou=servers,ou=hosts,$SLAPD_BASE
objectClass: organizationalUnit
objectClass: softsaPolicyAssignment
ou: servers
softsaPolicyRef: cn=web,ou=policies,$SLAPD_BASE

dn: cn=h1,ou=servers,ou=hosts,$SLAPD_BASE
objectClass: device
objectClass: simpleSecurityObject
cn: h1
userPassword: h1-secret

dn: ou=lonely,$SLAPD_BASE
objectClass: organizationalUnit
ou: lonely

dn: cn=h2,ou=lonely,$SLAPD_BASE
objectClass: device
objectClass: simpleSecurityObject
cn: h2
userPassword: h2-secret

dn: ou=groups,$SLAPD_BASE
objectClass: organizationalUnit
ou: groups
LDIF
	slapadd -q -F "$SLAPD_DIR/slapd.d" -n 1 -l "$SLAPD_DIR/base.ldif" >/dev/null 2>&1
}

slapd_init() { # DIR SCHEMA [syncprov|nosync]
	SLAPD_DIR=$1
	mkdir -p "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db" || return 1
	slapd_certs "$SLAPD_DIR" || { echo "slapd_init: certificates"; return 1; }
	slapd_config "$SLAPD_DIR" "$2" "${3:-syncprov}"
	slapadd -q -F "$SLAPD_DIR/slapd.d" -n 0 -l "$SLAPD_DIR/config.ldif" >"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ echo "slapd_init: config"; cat "$SLAPD_DIR/slapadd.log"; return 1; }
	slapd_data || { echo "slapd_init: data"; return 1; }
	printf %s "$SLAPD_ADMIN_PW" > "$SLAPD_DIR/admin.pw" # ldap*(1) -y: every byte is the password
	echo "h1-secret" > "$SLAPD_DIR/h1.pw"
	chmod 600 "$SLAPD_DIR/admin.pw" "$SLAPD_DIR/h1.pw"
}

slapd_start() { # [NETNS]
	SLAPD_NS=${1:-}
	local pre=""
	[ -n "$SLAPD_NS" ] && pre="ip netns exec $SLAPD_NS"
	# -d 0: stay in the foreground, so that $! is slapd itself.
	$pre slapd -d 0 -F "$SLAPD_DIR/slapd.d" \
		-h "ldap://127.0.0.1:$SLAPD_PORT/ ldaps://127.0.0.1:$SLAPD_PORTS/ ldaps://127.0.0.2:$SLAPD_PORTS/" >>"$SLAPD_DIR/slapd.log" 2>&1 &
	SLAPD_PID=$!
	for _ in $(seq 100); do
		if $pre ldapsearch -x -LLL -H "ldap://127.0.0.1:$SLAPD_PORT" -s base -b "" namingContexts \
			>/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SLAPD_PID" 2>/dev/null || { echo "slapd exited:"; tail -20 "$SLAPD_DIR/slapd.log"; return 1; }
		sleep 0.1
	done
	echo "slapd does not answer"
	return 1
}

slapd_stop() {
	[ -n "$SLAPD_PID" ] || return 0
	kill -TERM "$SLAPD_PID" 2>/dev/null
	wait "$SLAPD_PID" 2>/dev/null
	SLAPD_PID=""
}

ldap_admin() { # CMD ARGS...: ldapmodify etc. as the administrator, in slapd's namespace
	local cmd=$1
	shift
	local pre=""
	[ -n "$SLAPD_NS" ] && pre="ip netns exec $SLAPD_NS"
	$pre "$cmd" -x -H "ldap://127.0.0.1:$SLAPD_PORT" -D "$SLAPD_ADMIN" -y "$SLAPD_DIR/admin.pw" "$@"
}

slapd_admin_bootstrap() { # FILE: StartTLS, simple bind as the administrator, policies in ou=policies
	cat > "$1" <<EOF
uri: ldap://127.0.0.1:$SLAPD_PORT
base_dn: $SLAPD_BASE
policy_base: ou=policies,$SLAPD_BASE
ca_file: $SLAPD_DIR/ca.pem
bind: simple
bind_dn: $SLAPD_ADMIN
password_file: $SLAPD_DIR/admin.pw
EOF
}
