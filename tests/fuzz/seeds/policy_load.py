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

if __name__ == '__main__':
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, 'cov-' + name + '.yaml'), 'w') as f:
            f.write(data)
