#!/usr/bin/env python3
"""Writes the committed seed corpora in Fuzz/corpus/<target>/ (run from anywhere; rewrites the files).

Payloads are the captured examples of /work/shared/docs/zabbix-protocol.md (agentd, agent2,
zabbix_sender, proxy, passive checks), framed plain, zlib-compressed, large and pre-4.0; Riemann
bodies are encoded by protoc from riemann.proto (the same encoder the Riemann cross-check tests
use), and the configuration seeds are the repository's config.yaml plus variations. The input
layout of each target (leading control bytes) is documented at the top of its source file.
"""
import os
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# --- captured Zabbix payloads (zabbix-protocol.md) ---------------------------------------------
ACTIVE_CHECKS_AGENTD = b'{"request":"active checks","host":"tee-test-agentd","ip":"127.0.0.1","port":31050}'
ACTIVE_CHECKS_AGENT2 = b'{"request":"active checks","host":"tee-test-agent2","version":"6.0","ip":"127.0.0.1","port":31060}'
ACTIVE_CHECKS_REPLY = b'{"response":"success","data":[{"key":"agent.ping","itemid":1001,"delay":"5s","lastlogsize":0,"mtime":0},{"key":"system.uname","itemid":1004,"delay":"1m","lastlogsize":0,"mtime":0}]}'
ACTIVE_CHECKS_REPLY_OLD = b'{"response":"success","data":[{"key":"agent.ping","key_orig":"agent.ping","delay":5,"lastlogsize":0,"mtime":0}],"regexp":[{"name":"r","expression":"a.*","expression_type":0,"exp_delimiter":",","case_sensitive":1}]}'
AGENT_DATA_AGENTD = (b'{"request":"agent data","session":"da5682c258db95735870aea3f3a13664",'
                     b'"data":[{"host":"tee-test-agentd","key":"agent.ping","value":"1","id":1,"clock":1795236167,"ns":573317970},'
                     b'{"host":"tee-test-agentd","key":"system.cpu.load[all,avg1]","value":"0.322266","id":2,"clock":1795236167,"ns":573333733},'
                     b'{"host":"tee-test-agentd","key":"vfs.file.contents[/nonexistent/file]","value":"Cannot open file: [2] No such file or directory","state":1,"id":3,"clock":1795236167,"ns":573364019}],'
                     b'"clock":1795236168,"ns":573601716}')
AGENT_DATA_AGENT2 = (b'{"request":"agent data","data":[{"id":4,"itemid":1003,"state":1,"value":"Cannot obtain file ... no such file or directory","clock":1795236198,"ns":1241513},'
                     b'{"id":5,"itemid":1004,"value":"Linux vm 6.18.44 ... x86_64","clock":1795236199,"ns":265616}],'
                     b'"session":"20b262b0755945e992c381d62aaa1169","host":"tee-test-agent2","version":"6.0"}')
AGENT_DATA_REPLY = b'{"response":"success","info":"processed: 4; failed: 0; total: 4; seconds spent: 0.000042"}'
SENDER_1 = b'{"request":"sender data","data":[{"host":"tee-test-sender","key":"trap.key","value":"42"}]}'
SENDER_2 = (b'{"request":"sender data","data":[{"host":"tee-test-sender","key":"trap.key","value":"3.14","clock":1700000000},'
            b'{"host":"tee-test-sender","key":"trap.key2","value":"hello world","clock":1700000001}],"clock":1795236179,"ns":572489930}')
SENDER_REPLY = b'{"response":"success","info":"processed: 1; failed: 0; total: 1; seconds spent: 0.000050"}'
HEARTBEAT = b'{"request":"active check heartbeat","host":"tee-test-agentd","heartbeat_freq":60}'
FAILED = b'{"response":"failed","info":"host [x] not found"}'
REDIRECT = b'{"response":"failed","redirect":{"revision":3,"address":"10.0.0.2:10051"}}'
PROXY_CONFIG_REQ = b'{"request":"proxy config","host":"tee-lab-proxy","version":"6.0.14"}'
PROXY_HEARTBEAT = b'{"request":"proxy heartbeat","host":"tee-lab-proxy","version":"6.0.14"}'
PROXY_DATA = (b'{"request":"proxy data","host":"tee-lab-proxy","session":"e020992624c1bd4010a0d59805f072aa","version":"6.0.14",'
              b'"history data":[{"id":1,"itemid":1001,"clock":1795236264,"ns":1,"value":"1"},{"id":2,"itemid":1002,"clock":1795236264,"ns":2,"state":1,"value":"err"},'
              b'{"id":3,"itemid":1003,"clock":1795236264,"ns":3,"lastlogsize":10,"mtime":0}],"more":1,"clock":1795236264,"ns":71407569}')
PROXY_DATA_EMPTY = b'{"request":"proxy data","host":"tee-lab-proxy","session":"e020992624c1bd4010a0d59805f072aa","version":"6.0.14","clock":1795236264,"ns":71407569}'
PROXY_DATA_REPLY = b'{"upload":"enabled","response":"success"}'
PROXY_DATA_POLL = b'{"request":"proxy data"}'
PASSIVE_PROXY_DATA = b'{"session":"e020992624c1bd4010a0d59805f072aa","version":"6.0.14","history data":[{"id":7,"itemid":1001,"clock":1,"ns":2,"value":"5"}],"clock":1,"ns":2}'
CONFIG_60 = (b'{"globalmacro":{"fields":["globalmacroid","macro","value"],"data":[[1,"{$A}","b"]]},'
             b'"hosts":{"fields":["hostid","host","status","name"],"data":[[10105,"web01",0,"Web 01"],[10106,"db01",0,"DB 01"]]},'
             b'"items":{"fields":["itemid","type","snmp_oid","hostid","key_","delay","history","status","value_type"],'
             b'"data":[[1001,7,"",10105,"agent.ping","1m","90d",0,3],[1002,0,"",10106,"system.cpu.load[all,avg1]","1m","90d",0,0],[1003,0,"",99999,"orphan.key","1m","90d",0,4]]}}')
CONFIG_64_FULL = (b'{"full_sync":1,"data":{"hosts":{"fields":["hostid","host"],"data":[[10105,"web01"]]},'
                  b'"items":{"fields":["itemid","hostid","key_","value_type"],"data":[[1001,10105,"agent.ping",3]]}},'
                  b'"del_hostids":[],"macro.secrets":{},"config_revision":7}')
CONFIG_64_DELTA = (b'{"data":{"items":{"fields":["itemid","hostid","key_","value_type"],"data":[[1002,10105,"vfs.fs.size[/,free]",3]]}},'
                   b'"del_hostids":[10106],"config_revision":8}')
CONFIG_EMPTY = b'{}'
CONFIG_PUSH_REPLY = b'{"response":"success","version":"6.0.14"}'
CONFIG_STATUS = b'{"version":"7.0.0","session":"0123456789abcdef0123456789abcdef","config_revision":0}'
PASSIVE_KEY = b'agent.ping'
PASSIVE_REPLY = b'1'
PASSIVE_NOTSUP_AGENTD = b'ZBX_NOTSUPPORTED\x00Unsupported item key.'
PASSIVE_NOTSUP_AGENT2 = b'ZBX_NOTSUPPORTED\x00Unknown metric no.such.key'
PASSIVE_JSON_REQ = b'{"request":"passive checks","data":[{"key":"agent.version","timeout":3}]}'
PASSIVE_JSON_REPLY = b'{"version":"7.0.0","variant":1,"data":[{"value":"7.0.0"}]}'
PASSIVE_JSON_ERR = b'{"version":"7.0.0","variant":1,"data":[{"error":"Unknown metric"}]}'
PASSIVE_JSON_NULL = b'{"version":"7.0.0","variant":1,"data":[{"value":null}]}'
JSON_ODDITIES = [b'{"a":[1,-2.5e+3,true,false,null,"\\u00e9\\ud83d\\ude00\\n"]}', b'  {"request" : "queue.get" }\r\n',
                 b'{"request":"proxy data","history data":[{"itemid":18446744073709551615,"value":"x","id":18446744073709551615}]}']

ALL_PAYLOADS = [ACTIVE_CHECKS_AGENTD, ACTIVE_CHECKS_AGENT2, ACTIVE_CHECKS_REPLY, ACTIVE_CHECKS_REPLY_OLD, AGENT_DATA_AGENTD,
                AGENT_DATA_AGENT2, AGENT_DATA_REPLY, SENDER_1, SENDER_2, SENDER_REPLY, HEARTBEAT, FAILED, REDIRECT,
                PROXY_CONFIG_REQ, PROXY_HEARTBEAT, PROXY_DATA, PROXY_DATA_EMPTY, PROXY_DATA_REPLY, PROXY_DATA_POLL,
                PASSIVE_PROXY_DATA, CONFIG_60, CONFIG_64_FULL, CONFIG_64_DELTA, CONFIG_PUSH_REPLY, CONFIG_STATUS,
                PASSIVE_JSON_REQ, PASSIVE_JSON_REPLY] + JSON_ODDITIES

# Conversations: (name, [(peer, payload)]); peer 0 = client, 1 = server.
CONVERSATIONS = [
    ("agentd-active-checks", [(0, ACTIVE_CHECKS_AGENTD), (1, ACTIVE_CHECKS_REPLY_OLD)]),
    ("agent2-active-checks-then-data", [(0, ACTIVE_CHECKS_AGENT2), (1, ACTIVE_CHECKS_REPLY), (0, AGENT_DATA_AGENT2), (1, AGENT_DATA_REPLY)]),
    ("agentd-data", [(0, AGENT_DATA_AGENTD), (1, AGENT_DATA_REPLY)]),
    ("sender", [(0, SENDER_1), (1, SENDER_REPLY)]),
    ("sender-timestamps", [(0, SENDER_2), (1, SENDER_REPLY)]),
    ("heartbeat", [(0, HEARTBEAT)]),
    ("redirect", [(0, AGENT_DATA_AGENT2), (1, REDIRECT)]),
    ("heartbeat-redirect", [(0, b'{"request":"active check heartbeat","host":"h","heartbeat_freq":60,"version":"8.0.0rc1","variant":2}'),
                            (1, REDIRECT)]),
    ("history-push", [(0, b'{"request":"history.push","sid":"00112233445566778899aabbccddeeff","clientip":"192.0.2.7",'
                          b'"data":[{"itemid":5,"value":"1"},{"host":"h","key":"k","value":2,"clock":1,"ns":2}]}'),
                      (1, b'{"response":"success","data":[{"itemid":5},{"itemid":6,"error":"Item is disabled."}]}')]),
    ("active-proxy-config", [(0, PROXY_CONFIG_REQ), (1, CONFIG_60)]),
    ("active-proxy-config-64", [(0, PROXY_CONFIG_REQ), (1, CONFIG_64_FULL)]),
    ("active-proxy-heartbeat", [(0, PROXY_HEARTBEAT), (1, b'{"response":"success"}')]),
    ("active-proxy-data", [(0, PROXY_DATA), (1, PROXY_DATA_REPLY)]),
    ("active-proxy-data-empty", [(0, PROXY_DATA_EMPTY), (1, PROXY_DATA_REPLY)]),
    ("passive-proxy-data", [(0, PROXY_DATA_POLL), (1, PASSIVE_PROXY_DATA), (0, PROXY_DATA_REPLY)]),
    ("passive-proxy-push-62", [(0, b'{"request":"proxy config","data":' + CONFIG_60 + b'}'), (1, CONFIG_PUSH_REPLY)]),
    ("passive-proxy-push-64", [(0, b'{"request":"proxy config"}'), (1, CONFIG_STATUS), (0, CONFIG_64_DELTA), (1, CONFIG_PUSH_REPLY)]),
    ("passive-check", [(0, PASSIVE_KEY), (1, PASSIVE_REPLY)]),
    ("passive-notsupported-agentd", [(0, b'vfs.file.contents[/x]'), (1, PASSIVE_NOTSUP_AGENTD)]),
    ("passive-notsupported-agent2", [(0, b'no.such.key'), (1, PASSIVE_NOTSUP_AGENT2)]),
    ("passive-json", [(0, PASSIVE_JSON_REQ), (1, PASSIVE_JSON_REPLY)]),
    ("passive-json-error", [(0, PASSIVE_JSON_REQ), (1, PASSIVE_JSON_ERR)]),
    ("passive-json-null", [(0, PASSIVE_JSON_REQ), (1, PASSIVE_JSON_NULL)]),
    ("passive-json-fallback", [(0, PASSIVE_JSON_REQ), (1, b'ZBX_NOTSUPPORTED\x00Invalid item key format.')]),
    ("passive-text-looks-like-json", [(0, b'system.run[echo {}]'), (1, b'{not json')]),
]


def header(length, reserved=0, flags=0x01):
    width = '<QQ' if flags & 0x04 else '<II'
    return b'ZBXD' + bytes([flags]) + struct.pack(width, length, reserved)


def frame(payload, compressed=False, large=False, agent2_reserved=False):
    flags = 0x01 | (0x02 if compressed else 0) | (0x04 if large else 0)
    if compressed:
        body = zlib.compress(payload)
        return header(len(body), len(payload), flags) + body
    return header(len(payload), len(payload) if agent2_reserved else 0, flags) + payload


def legacy_frame(payload):
    return b'ZBXD\x01' + struct.pack('<Q', len(payload)) + payload


def write(target, name, data):
    directory = os.path.join(HERE, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), 'wb') as f:
        f.write(data)


def clean(target):
    directory = os.path.join(HERE, target)
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            # crash-* files are inputs that once failed (see RELIABILITY.md): keep them.
            if not name.startswith('crash-'):
                os.remove(os.path.join(directory, name))


def zabbix_frames():
    t = 'FuzzZabbixFrames'
    clean(t)
    # byte 0: chunk size selector; byte 1: limit selector (7 = 1 MiB) | 0x08 for the server direction.
    for name, exchange in CONVERSATIONS:
        client = b''.join(frame(p, compressed=(i % 2 == 1)) for i, (peer, p) in enumerate(exchange) if peer == 0)
        server = b''.join(frame(p, compressed=(len(p) > 64)) for peer, p in exchange if peer == 1)
        stream = b''.join(frame(p, compressed=(len(p) > 100)) for _, p in exchange)
        write(t, name + '.both', bytes([0x06, 0x07]) + stream)
        if client:
            write(t, name + '.client', bytes([0xFF, 0x07]) + client)
        if server:
            write(t, name + '.server', bytes([0x00, 0x0F]) + server)
    write(t, 'agentd-passive-request', bytes([0x0C, 0x07]) + bytes.fromhex('5a42584401 0a000000 00000000') + b'agent.ping')
    write(t, 'agent2-passive-reply-reserved', bytes([0x01, 0x0F]) + bytes.fromhex('5a42584401 01000000 01000000') + b'1')
    write(t, 'agent2-active-checks-compressed', bytes([0x10, 0x07]) + frame(ACTIVE_CHECKS_AGENT2, compressed=True))
    write(t, 'proxy-data-compressed', bytes([0x3F, 0x07]) + frame(PROXY_DATA, compressed=True))
    write(t, 'proxy-config-large', bytes([0x08, 0x0F]) + frame(CONFIG_60, large=True))
    write(t, 'proxy-config-large-compressed', bytes([0x08, 0x0F]) + frame(CONFIG_60, compressed=True, large=True))
    write(t, 'legacy-header', bytes([0x04, 0x07]) + legacy_frame(b'agent.ping'))
    write(t, 'agent2-reserved-plain', bytes([0x02, 0x0F]) + frame(AGENT_DATA_REPLY, agent2_reserved=True))
    write(t, 'oversized-skipped', bytes([0x05, 0x03]) + frame(SENDER_1) + frame(PASSIVE_KEY))
    write(t, 'oversized-compressed-reserved', bytes([0x05, 0x05]) + header(20, 1 << 40, 0x07) + b'x' * 20 + frame(PASSIVE_KEY))
    write(t, 'bad-zlib', bytes([0x03, 0x07]) + header(6, 10, 0x03) + b'\x78\x9cjunk' + frame(PASSIVE_KEY))
    write(t, 'zlib-size-mismatch', bytes([0x03, 0x07]) + header(len(zlib.compress(b'abc')), 2, 0x03) + zlib.compress(b'abc'))
    write(t, 'truncated-payload', bytes([0x07, 0x07]) + frame(SENDER_1)[:40])
    write(t, 'truncated-header', bytes([0x07, 0x07]) + b'ZBXD\x01\x05\x00')
    write(t, 'tls-client-hello', bytes([0x02, 0x07]) + bytes.fromhex('16030100a5010000a10303') + b'\x00' * 20)
    write(t, 'headerless-legacy', bytes([0x02, 0x07]) + b'agent.ping\n')
    write(t, 'unknown-flags', bytes([0x02, 0x07]) + b'ZBXD\x09' + b'\x00' * 8)
    write(t, 'missing-protocol-flag', bytes([0x02, 0x07]) + b'ZBXD\x02' + b'\x00' * 8)
    write(t, 'empty-frames', bytes([0x00, 0x00]) + frame(b'') * 3)
    write(t, 'trapper-get-active-checks', bytes([0x09, 0x07]) + frame(b'ZBX_GET_ACTIVE_CHECKS\ntee-test-agentd\n'))
    # Captured traffic of the project's fixtures, when present: a direction per file.
    for fixture in sorted(os.listdir(os.path.join(ROOT, 'Fixtures'))) if os.path.isdir(os.path.join(ROOT, 'Fixtures')) else []:
        for side, flag in (('client.bin', 0x07), ('server.bin', 0x0F)):
            path = os.path.join(ROOT, 'Fixtures', fixture, side)
            if os.path.isfile(path) and os.path.getsize(path) <= 1 << 20:
                with open(path, 'rb') as f:
                    write(t, 'fixture-' + fixture + '-' + side, bytes([0x1F, flag]) + f.read())


def zabbix_messages():
    t = 'FuzzZabbixMessages'
    clean(t)
    # byte 0: bit i set = payload i from the server; payloads separated by 0xFE.
    for name, exchange in CONVERSATIONS:
        peers = sum(1 << i for i, (peer, _) in enumerate(exchange) if peer == 1)
        write(t, name, bytes([peers]) + b'\xfe'.join(p for _, p in exchange))
    for i, payload in enumerate(ALL_PAYLOADS + [PASSIVE_KEY, PASSIVE_NOTSUP_AGENTD]):
        write(t, 'single-%02d' % i, b'\x00' + payload)
    write(t, 'deep', b'\x00' + b'[' * 70 + b']' * 70)
    write(t, 'escapes', b'\x00' + b'{"k\\"\\\\\\/\\b\\f\\n\\r\\t":"\\u0000\\u001f\\ud800\\udc00"}')


def proxy_config():
    t = 'FuzzProxyConfig'
    clean(t)
    # byte 0: bits 0-1 arrival mode, bits 2-3 catalog limit.
    write(t, 'config-60-active', bytes([0x0C]) + CONFIG_60)
    write(t, 'config-60-small-limit', bytes([0x04]) + CONFIG_60)
    write(t, 'config-60-push', bytes([0x0E]) + CONFIG_60)
    write(t, 'config-64-full-passive', bytes([0x0D]) + CONFIG_64_FULL)
    write(t, 'config-64-full-twice', bytes([0x0F]) + CONFIG_64_FULL)
    write(t, 'config-64-delta', bytes([0x0D]) + CONFIG_64_DELTA)
    write(t, 'config-64-delta-twice', bytes([0x0B]) + CONFIG_64_DELTA)
    write(t, 'config-empty', bytes([0x0C]) + CONFIG_EMPTY)
    write(t, 'config-limit-4', bytes([0x00]) + CONFIG_60)
    write(t, 'config-escapes', bytes([0x0C]) + b'{"hosts":{"fields":["hostid","host"],"data":[[1,"h\\u00e9\\n\\"x"],[2,3.5]]},'
          b'"items":{"fields":["itemid","hostid","key_","value_type"],"data":[[7,1,"k[\\"a,b\\"]\\u0000",-1],[8,2,true,null],[18446744073709551615,1,"max",5]]}}')
    catalog = (b'{"format":"zabbix-tee item catalog","version":1}\n'
               b'{"ns":"proxy:fuzz/fuzz-proxy","hostid":10105,"host":"web01"}\n'
               b'{"ns":"proxy:fuzz/fuzz-proxy","itemid":1001,"key":"agent.ping","hostid":10105,"value_type":3}\n'
               b'{"ns":"agent:fuzz/tee-test-agent2","itemid":1003,"key":"vfs.file.contents[/x]","host":"tee-test-agent2"}\n')
    write(t, 'serialized-catalog', bytes([0x0C]) + catalog)
    write(t, 'serialized-catalog-limit', bytes([0x00]) + catalog + catalog.split(b'\n', 1)[1])


def riemann_frames():
    t = 'FuzzRiemannFrames'
    clean(t)
    proto = os.path.join(ROOT, 'Sources', 'CRiemannProto', 'riemann.proto')

    def encode(text):
        return subprocess.run(['protoc', '--proto_path=' + os.path.dirname(proto), '--encode=riemann.Msg', proto],
                              input=text.encode(), capture_output=True, check=True).stdout

    def rframe(body):
        return struct.pack('>I', len(body)) + body
    ack = bytes.fromhex('00000002 1001')
    bodies = {
        'ack': bytes.fromhex('1001'),
        'nack': encode('ok: false error: "no such index"'),
        'event': encode('events { time: 1795236167 state: "ok" service: "zabbix agent.ping" host: "tee-test-agentd" '
                        'description: "1" tags: "zabbix" tags: "agent" ttl: 120 metric_sint64: 1 '
                        'attributes { key: "itemid" value: "1001" } attributes { key: "source" value: "agent data" } }'),
        'events': encode('events { service: "cpu" host: "web01" metric_d: 0.322266 time_micros: 1795236167573317 } '
                         'events { service: "text" host: "web01" state: "critical" description: "Cannot open file" metric_f: 1.5 }'),
        'query': encode('query { string: "service = \\"zabbix\\"" } events { host: "h" }'),
        'states': encode('states { time: 1 state: "ok" service: "s" host: "h" once: true tags: "t" ttl: 5 }'),
    }
    # byte 0: piece size; byte 1: limit selector (3 = default 16 MiB).
    write(t, 'ack', bytes([0x00, 0x03]) + ack)
    write(t, 'acks-pieces', bytes([0x02, 0x03]) + ack * 3)
    write(t, 'ack-limit-2', bytes([0x05, 0x01]) + ack)
    for name, body in bodies.items():
        write(t, name, bytes([0x07, 0x03]) + rframe(body))
    write(t, 'stream', bytes([0x0B, 0x02]) + b''.join(rframe(b) for b in bodies.values()) + ack[:3])
    write(t, 'too-large', bytes([0x01, 0x02]) + struct.pack('>I', 5000) + b'x' * 8)
    write(t, 'bare-body', bytes([0x1F, 0x03]) + bodies['event'])


def config():
    t = 'FuzzConfig'
    clean(t)
    with open(os.path.join(ROOT, 'config.yaml'), 'rb') as f:
        base = f.read()
    write(t, 'config.yaml', base)
    write(t, 'minimal.yaml', b'listeners:\n  - name: a\n    listen: "127.0.0.1:10051"\n    targets: ["127.0.0.1:10052"]\n')
    write(t, 'two-listeners.yaml', b'log_level: debug\nshutdown_timeout: 1m\nlisteners:\n'
          b'  - {name: agents, listen: ["[::1]:10051"], targets: [zabbix:10051, "10.0.0.1:10051"], balance: round-robin, '
          b'connect_timeout: 500ms, idle_timeout: 1h, target_cooldown: 0s, drain_timeout: 2s, max_connections: 10, backlog: 16, socket_buffer: 64KiB}\n'
          b'  - name: passive\n    listen: 0.0.0.0:10050\n    targets:\n      - agent.example.net:10050\n    balance: random\n')
    write(t, 'anchors.yaml', b'defaults: &d {targets: ["a:1"]}\nlisteners:\n  - <<: *d\n    name: x\n    listen: ":1"\n')
    write(t, 'bad-types.yaml', b'log_level: [1]\nshutdown_timeout: -3\nlisteners: {}\n')
    write(t, 'tags.yaml', b'%YAML 1.1\n---\nlisteners: !!seq\n  - name: !!str 1\n    listen: "1.2.3.4:99999"\n    targets: []\n...\n')


def relay_state_machine():
    """Event scripts for the relay state machine (layout at the top of FuzzRelayStateMachine.swift).

    Each choice is a pair (side, event) as RelaySimulation.step reads them: side 0 client, 1
    server; events 0-2 send, 3-5 consume, 6 shut output, 7 reset or close, 8 connect outcome,
    9 time passes, 10 close requested or 1 ms, 11 resume.
    """
    t = 'FuzzRelayStateMachine'
    clean(t)
    def script(*pairs):
        return bytes(b for pair in pairs for b in pair)
    connect, send, consume, fin, close, tick = (1, 8, 0), (0, 0, 20), (1, 3, 40), (0, 6), (1, 7, 1), (0, 9, 200)
    # An agent exchange: connect, request, reply, server closes, client closes.
    write(t, 'agent-exchange', bytes([63, 47, 47, 0x20]) + script(connect, send, (1, 3, 60), (1, 0, 30), (0, 3, 60), close, fin, (1, 3, 1)))
    # Short buffers: every write is short, spills and flushes.
    write(t, 'short-writes', bytes([15, 3, 3, 0x20]) + script(connect, (0, 0, 90), (1, 3, 2), (1, 3, 2), (1, 0, 90), (0, 3, 1), fin, (1, 6), consume, consume))
    # Failover: the first two targets fail, the third answers.
    write(t, 'failover', bytes([31, 31, 31, 0x0A]) + script((1, 8, 0), (1, 8, 0), connect, send, fin))
    # Half-open: the server closes, the client stays silent until the deadlines.
    write(t, 'half-open', bytes([31, 31, 31, 0x40]) + script(connect, send, close, tick, tick, tick, tick))
    # Resets on both sides mid-transfer.
    write(t, 'resets', bytes([31, 7, 7, 0x00]) + script(connect, (0, 0, 90), (1, 0, 90), (0, 7, 0), (1, 7, 0)))
    # Refused at admission.
    write(t, 'refused', bytes([31, 31, 31, 0x10]) + script(send, fin))


if __name__ == '__main__':
    zabbix_frames()
    zabbix_messages()
    proxy_config()
    riemann_frames()
    config()
    relay_state_machine()
    for target in sorted(os.listdir(HERE)):
        if os.path.isdir(os.path.join(HERE, target)):
            print(target, len(os.listdir(os.path.join(HERE, target))), 'seeds', file=sys.stderr)
