#!/usr/bin/env python3
"""Seeds for fuzz_dir_files (tests/fuzz/corpus/dir_files): the bootstrap files of
tests/unit/directory/test_config.c's error table and a few more refusals (each a path that
returns an error the seeds did not reach), behind the first byte that picks the bootstrap
('0', even) or the cache ('1', odd)."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus', 'dir_files')

BASE = ('uri: ldaps://ldap.example.com\nbase_dn: dc=example,dc=com\n'
        'host_dn: cn=web1,ou=servers,dc=example,dc=com\nca_file: /etc/softsa/ca.pem\n')
MAGIC = '# softsa directory cache: the last good policy (doc/directory.md); written by softsad\n'

BOOT = {
    'no-base-dn': 'uri: ldaps://x\n',
    'bind-unknown': BASE + 'bind: kerberos\n',
    'tls-off-remote': BASE + 'bind_dn: cn=x\npassword_file: p\ntls: off\n',
    'uri-http': 'uri: http://x\n',
    'simple-no-password': BASE + 'bind_dn: cn=x\n',
    'host-not-under-base': 'uri: ldaps://x\nbase_dn: dc=a\nhost_dn: cn=h,dc=b\nca_file: c\n',
    'host-dn-bad': 'uri: ldaps://x\nbase_dn: dc=a\nhost_dn: cn=h,,dc=a\n',
    'no-ca-file': 'uri: ldaps://x\nbase_dn: dc=a\nhost_dn: cn=h,dc=a\nbind: external\ncert_file: c\nkey_file: k\n',
    'default-unknown': BASE + 'password_file: p\nbind_dn: cn=a\ndefault: secure\n',
    'poll-zero': BASE + 'poll_interval: 0\n',
    'unknown-key': BASE + 'uri_list: x\n',
    'uri-empty': 'uri: []\n',
    'external-no-cert': BASE + 'bind: external\nkey_file: k\n',
    'uri-two-in-one': 'uri: "ldaps://a ldaps://b"\n',
    'uri-item-list': 'uri: [[ldaps://a]]\n',
    'uri-missing': 'base_dn: dc=a\n',
    'base-dn-bad': 'uri: ldaps://x\nbase_dn: "dc=a,,"\nca_file: c\nbind_dn: cn=a\npassword_file: p\n',
    'policy-base-bad': BASE + 'bind_dn: cn=a\npassword_file: p\npolicy_base: "x"\n',
    'follow-list': BASE + 'bind_dn: cn=a\npassword_file: p\nfollow: [poll]\n',
    'timeout-big': BASE + 'bind_dn: cn=a\npassword_file: p\ntimeout: 1h\n',
    'retry-list': BASE + 'bind_dn: cn=a\npassword_file: p\nretry_interval: [1]\n',
    'str-list': BASE + 'bind_dn: [cn=a]\npassword_file: p\n',
    'seq': '- a\n',
    'not-yaml': 'uri: [\n',
    'loopback-localhost': 'uri: ldap://LocalHost:389/\nbase_dn: dc=t\ntls: off\nbind_dn: cn=h,dc=t\n'
                          'password_file: pw\ndefault: server\n',
    'loopback-127-short': 'uri: ldap://127.1\nbase_dn: dc=t\ntls: off\nbind_dn: cn=h,dc=t\npassword_file: pw\n',
    'uri-no-scheme-sep': 'uri: "ldaps:x"\nbase_dn: dc=t\nca_file: c\nbind_dn: cn=a\npassword_file: p\n',
}

CACHE = {
    'magic-only': MAGIC,
    'no-newline-header': MAGIC + '# origin: x',
    'long-value': MAGIC + '# holder: ' + 'cn=a,' * 300 + 'dc=x\nname: x\n',
    'via-each': MAGIC + '# via: host\n# via: ou\n# via: none\n# version: -1\nrules: []\n',
    'not-a-header': MAGIC + '#no space\n# origin: never read\n',
}

if __name__ == '__main__':
    for name, text in BOOT.items():
        with open(os.path.join(OUT, 'boot-' + name), 'w') as f:
            f.write('0' + text)
    for name, text in CACHE.items():
        with open(os.path.join(OUT, 'cache-' + name), 'w') as f:
            f.write('1' + text)
