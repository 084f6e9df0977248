/* The three built-in policies of Windows 2000, as policy files loaded through the same
 * loader as any other (doc/policy.md, section Built-in policies, explains each and where
 * we chose because Windows was vague).  Windows authenticates them with Kerberos; here
 * they need a pre-shared key, given with `psk_file` or --psk-file. */
#include <string.h>

#include "policy/load.h"

/* Client (Respond Only): no rules, so all traffic goes as usual, in the clear; the Default
 * Response rule answers a peer that asks for security, and never initiates. */
static const char client_yaml[] =
	"name: client\n"
	"description: \"Client (Respond Only): communicate normally (unsecured); answer IKE from\n"
	"  peers that request security (Default Response rule), never initiate.\"\n"
	"default_response: true\n";

/* Server (Request Security): all IP traffic negotiates; unsecured inbound is accepted (and
 * answered with IKE); a peer that never answers IKE gets a soft association.  ICMP is
 * permitted so that diagnostics and IPv6 neighbour discovery work without IKE. */
static const char server_yaml[] =
	"name: server\n"
	"description: \"Server (Request Security): for all IP traffic, always request security;\n"
	"  allow unsecured communication with computers that do not answer.\"\n"
	"filter_lists:\n"
	"  all-icmp:\n"
	"    - { src: me, dst: any, proto: icmp }\n"
	"    - { src: me, dst: any, proto: icmpv6 }\n"
	"  all-ip:\n"
	"    - { src: me, dst: any }\n"
	"filter_actions:\n"
	"  permit:\n"
	"    action: permit\n"
	"  request-security:\n"
	"    action: negotiate\n"
	"    methods: [aes256gcm16, aes128gcm16, aes256-sha256]\n"
	"    accept_unsecured: true\n"
	"    fallback_to_clear: true\n"
	"rules:\n"
	"  - name: all-icmp\n"
	"    filter_list: all-icmp\n"
	"    filter_action: permit\n"
	"  - name: all-ip\n"
	"    filter_list: all-ip\n"
	"    filter_action: request-security\n"
	"default_response: true\n";

/* Secure Server (Require Security): all IP traffic must be secured; unsecured inbound is
 * dropped and a peer that never answers IKE is blocked.  ICMP is permitted, as in Windows. */
static const char secure_server_yaml[] =
	"name: secure-server\n"
	"description: \"Secure Server (Require Security): for all IP traffic, always require\n"
	"  security; do not allow unsecured communication with untrusted clients.\"\n"
	"filter_lists:\n"
	"  all-icmp:\n"
	"    - { src: me, dst: any, proto: icmp }\n"
	"    - { src: me, dst: any, proto: icmpv6 }\n"
	"  all-ip:\n"
	"    - { src: me, dst: any }\n"
	"filter_actions:\n"
	"  permit:\n"
	"    action: permit\n"
	"  require-security:\n"
	"    action: negotiate\n"
	"    methods: [aes256gcm16, aes128gcm16, aes256-sha256]\n"
	"    accept_unsecured: false\n"
	"    fallback_to_clear: false\n"
	"rules:\n"
	"  - name: all-icmp\n"
	"    filter_list: all-icmp\n"
	"    filter_action: permit\n"
	"  - name: all-ip\n"
	"    filter_list: all-ip\n"
	"    filter_action: require-security\n"
	"default_response: true\n";

const char *const ss_builtin_names[] = { "client", "server", "secure-server", NULL };

const char *ss_builtin_yaml(const char *name)
{
	static const char *const texts[] = { client_yaml, server_yaml, secure_server_yaml };
	for (size_t i = 0; ss_builtin_names[i]; i++)
		if (strcmp(name, ss_builtin_names[i]) == 0)
			return texts[i];
	return NULL;
}
