#!/usr/bin/env python3
"""Seeds for fuzz_policy_load (tests/fuzz/corpus/policy) that reach what the coverage review
of the loader found unreached (tests/fuzz/README.md): algorithm spellings no example uses
(sha512, prfsha512, x25519, pfs none, the PRF implied by a CBC proposal's INTEG), and the
refusals of an empty or duplicate proposal list, a retransmission schedule with too many
delays, filter_actions that is not a mapping, auth together with psk_file, built-ins without
a key or of an unknown name, an identity and a key that are too long."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'policy')

RULES = """filter_lists:
  lab:
    - { src: me, dst: 192.0.2.0/24 }
filter_actions:
  secure:
    action: negotiate
%s
rules:
  - { name: lab, filter_list: lab, filter_action: secure }
"""


def policy(ike='', action='', top='psk_file: k.psk\n'):
    return 'name: cov\n' + top + ike + RULES % action


SEEDS = {
    'algorithms': policy(ike="""ike:
  proposals:
    - aes256-sha512-prfsha512-x25519
    - aes128-sha384-ecp256
    - aes256-sha512-modp2048
""", action="""    methods: [aes256-sha512, esp: aes128-sha256]
    pfs: none"""),
    'pfs-false': policy(action='    pfs: false'),
    'pfs-x25519': policy(action='    pfs: x25519'),
    'proposals-empty': policy(ike='ike:\n  proposals: []\n'),
    'proposals-duplicate': policy(ike='ike:\n  proposals: [aes128gcm16-x25519, aes128gcm16-x25519]\n'),
    'delays-too-many': policy(ike='ike:\n  retransmit:\n    delays_ms: [%s]\n'
                              % ', '.join(['100'] * 17)),
    'delays-empty': policy(ike='ike:\n  retransmit:\n    delays_ms: []\n'),
    'filter-actions-list': 'name: cov\npsk_file: k.psk\nfilter_actions: [a, b]\n',
    'auth-and-psk-file': policy(top='psk_file: k.psk\nauth:\n  - psk_file: k.psk\n'),
    'builtin-no-key': 'builtin: server\n',
    'builtin-unknown': 'builtin: desktop\npsk_file: k.psk\n',
    'id-too-long': policy(top='auth:\n  - psk: secret\n    local_id: fqdn:%s\n' % ('a' * 256)),
    'psk-too-long': policy(top='auth:\n  - psk: "%s"\n' % ('k' * 300)),
}

# A value of the wrong kind where each helper expects a scalar, list or mapping: the
# "return false" that passes a reported error up.
for key, val, where in [
        ('pfs', '[ecp256]', 'action'), ('pfs', 'ecp999', 'action'), ('methods', '5', 'action'),
        ('methods', '[{esp: [x]}]', 'action'), ('methods', '[{esp: aes128gcm16, lifetime: [1]}]', 'action'),
        ('methods', '[{esp: aes128gcm16, lifetime_bytes: x}]', 'action'),
        ('methods', '[aes999]', 'action'), ('proposals', '{a: b}', 'ike'), ('proposals', '[[x]]', 'ike'),
        ('proposals', '[aes128gcm16-sha256-x25519]', 'ike'), ('proposals', '[aes128-x25519]', 'ike'),
        ('lifetime', '[1]', 'ike'), ('lifetime', '1s', 'ike'), ('retransmit', '5', 'ike'),
        ('retransmit', '{attempts: [1]}', 'ike'), ('retransmit', '{delays_ms: x}', 'ike'),
        ('retransmit', '{delays_ms: [x]}', 'ike'), ('retransmit', '{final_wait_ms: -1}', 'ike'),
        ('retransmit', '{icmp_gap_ms: [1]}', 'ike'), ('retransmit', '{bogus: 1}', 'ike'),
        ('ike', '[1]', 'top')]:
    name = 'kind-%s-%s' % (key, ''.join(c for c in val if c.isalnum())[:12] or 'x')
    if where == 'action':
        SEEDS[name] = policy(action='    %s: %s' % (key, val))
    elif where == 'ike':
        SEEDS[name] = policy(ike='ike:\n  %s: %s\n' % (key, val))
    else:
        SEEDS[name] = policy(ike='%s: %s\n' % (key, val))

# The auth section (src/policy/load_auth.c), policy-wide and per rule: certificate methods
# (paths only: the target does not read key files), identities of each kind, PSK length
# bounds, and each refusal of a method that mixes or lacks its parts.
CERT = '    certificate:\n      ca: ca.pem\n      cert: host.pem\n      key: host.key\n'
ITEM = '  - ' + CERT[4:]


def auth(body, top=True):
    """A policy whose auth list is body: policy-wide (top) or on the rule."""
    if top:
        return 'name: cov\nauth:\n' + body + RULES % ''
    rules = RULES.replace('filter_action: secure }', 'filter_action: secure,\n      auth: AUTH }')
    return 'name: cov\npsk_file: k.psk\n' + rules.replace('AUTH', '[%s]' % body) % ''


SEEDS.update({
    'auth-cert': auth(ITEM + '      crl: ca.crl\n      peer_id: "dns:*.example.com"\n'),
    'auth-cert-dn': auth(ITEM + '      peer_id: "dn:CN=*,O=Example"\n'),
    'auth-cert-abs': auth('  - certificate: {ca: /etc/softsa/ca, cert: /etc/softsa/h.pem, '
                          'key: /etc/softsa/h.key, peer_id: 192.0.2.7}\n'),
    'auth-cert-then-psk': auth(ITEM + '  - psk: "a long shared secret for partners"\n'),
    'auth-cert-twice': auth(ITEM + ITEM),
    'auth-cert-no-ca': auth('  - certificate: {cert: h.pem, key: h.key}\n'),
    'auth-cert-no-cert': auth('  - certificate: {ca: ca.pem, key: h.key}\n'),
    'auth-cert-no-key': auth('  - certificate: {ca: ca.pem, cert: h.pem}\n'),
    'auth-cert-empty-path': auth('  - certificate: {ca: "", cert: h.pem, key: h.key}\n'),
    'auth-cert-path-list': auth('  - certificate: {ca: [a], cert: h.pem, key: h.key}\n'),
    'auth-cert-long-path': auth('  - certificate: {ca: %s, cert: h.pem, key: h.key}\n' % ('/d' * 2100)),
    'auth-cert-peer-id-list': auth('  - certificate: {ca: ca.pem, cert: h.pem, key: h.key, peer_id: [x]}\n'),
    'auth-cert-unknown-key': auth('  - certificate: {ca: ca.pem, cert: h.pem, key: h.key, pin: 1}\n'),
    'auth-cert-not-map': auth('  - certificate: ca.pem\n'),
    'auth-cert-with-psk': auth(ITEM + '    psk: "a long shared secret for partners"\n'),
    'auth-cert-with-psk-file': auth(ITEM + '    psk_file: k.psk\n'),
    'auth-cert-with-local-id': auth(ITEM + '    local_id: host.example\n'),
    'auth-cert-with-remote-id': auth(ITEM + '    remote_id: peer.example\n'),
    'auth-cert-rule': auth('{certificate: {ca: ca.pem, cert: h.pem, key: h.key}}', top=False),
    'auth-psk-rule': auth('{psk: "a long shared secret for partners", remote_id: keyid:b7}', top=False),
    'auth-ids': auth('  - psk: "a long shared secret for partners"\n    local_id: 2001:db8::1\n'
                     '    remote_id: 192.0.2.9\n'
                     '  - psk_file: k.psk\n    local_id: keyid:branch-7\n    remote_id: fqdn:p.example\n'
                     '  - psk_file: k.psk\n    local_id: plain.example.net\n'),
    'auth-id-empty-keyid': auth('  - psk_file: k.psk\n    local_id: "keyid:"\n'),
    'auth-id-space': auth('  - psk_file: k.psk\n    remote_id: "fqdn:a b"\n'),
    'auth-id-list': auth('  - psk_file: k.psk\n    remote_id: [a]\n'),
    'auth-id-local-list': auth('  - psk_file: k.psk\n    local_id: {a: b}\n'),
    'auth-psk-short': auth('  - psk: short\n'),
    'auth-psk-list': auth('  - psk: [a]\n'),
    'auth-psk-file-list': auth('  - psk_file: [a]\n'),
    'auth-psk-and-file': auth('  - psk: "a long shared secret for partners"\n    psk_file: k.psk\n'),
    'auth-neither': auth('  - local_id: a.example\n'),
    'auth-unknown-key': auth('  - psk_file: k.psk\n    password: x\n'),
    'auth-method-scalar': auth('  - k.psk\n'),
    'auth-empty': 'name: cov\nauth: []\n' + RULES % '',
    'auth-map': 'name: cov\nauth: {psk_file: k.psk}\n' + RULES % '',
    'auth-psk-file-top-list': 'name: cov\npsk_file: [k.psk]\n' + RULES % '',
    'auth-default-response': 'name: cov\ndefault_response: true\nauth:\n'
                             '  - psk: "a long shared secret for partners"\n    local_id: keyid:me\n' +
                             ITEM + RULES % '',
})

if __name__ == '__main__':
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, 'cov-' + name + '.yaml'), 'w') as f:
            f.write(data)
