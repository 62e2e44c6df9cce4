// What etcd 3.4.23 (Debian etcd-server/etcd-client 3.4.23) answered, on a fresh single-member cluster, to the
// etcdctl commands below, in this order (recorded with test/mvcc/record-etcd.sh): `-w json` output as etcdctl
// prints it (base64 keys and values, zero fields left out), with cluster_id, member_id and raft_term dropped
// from the top header. A txn step shows the text fed to `etcdctl txn -w json` on standard input.

export type EtcdAnswer =
  | { readonly json: unknown }
  | { readonly error: string }
  | { readonly text: string }
  | { readonly revision: number };

export const ETCD_RECORDING: readonly (readonly [command: string, answer: EtcdAnswer])[] = [
  ['endpoint status -w json', { revision: 1 }],
  ['put a 1 -w json', { json: { header: { revision: 2 } } }],
  ['put b 2 -w json', { json: { header: { revision: 3 } } }],
  ['put a 11 -w json', { json: { header: { revision: 4 } } }],
  ['del zz -w json', { json: { header: { revision: 4 } } }],
  ['del a -w json', { json: { header: { revision: 5 }, deleted: 1 } }],
  ['put a 111 -w json', { json: { header: { revision: 6 } } }],
  [
    'get a -w json',
    {
      json: {
        header: { revision: 6 },
        kvs: [{ key: 'YQ==', create_revision: 6, mod_revision: 6, version: 1, value: 'MTEx' }],
        count: 1,
      },
    },
  ],
  [
    'get a --rev 4 -w json',
    {
      json: {
        header: { revision: 6 },
        kvs: [{ key: 'YQ==', create_revision: 2, mod_revision: 4, version: 2, value: 'MTE=' }],
        count: 1,
      },
    },
  ],
  ['get a --rev 5 -w json', { json: { header: { revision: 6 } } }],
  [
    'txn <<mod("b") = "3"\\n\\nput c 3\\nput d 4\\ndel b\\n\\nput x 0\\n\\n',
    {
      json: {
        header: { revision: 7 },
        succeeded: true,
        responses: [
          { Response: { ResponsePut: { header: { revision: 7 } } } },
          { Response: { ResponsePut: { header: { revision: 7 } } } },
          { Response: { ResponseDeleteRange: { header: { revision: 7 }, deleted: 1 } } },
        ],
      },
    },
  ],
  [
    'get  --from-key -w json',
    {
      json: {
        header: { revision: 7 },
        kvs: [
          { key: 'YQ==', create_revision: 6, mod_revision: 6, version: 1, value: 'MTEx' },
          { key: 'Yw==', create_revision: 7, mod_revision: 7, version: 1, value: 'Mw==' },
          { key: 'ZA==', create_revision: 7, mod_revision: 7, version: 1, value: 'NA==' },
        ],
        count: 3,
      },
    },
  ],
  [
    'txn <<version("a") = "1"\\n\\nget a\\n\\nget b\\n\\n',
    {
      json: {
        header: { revision: 7 },
        succeeded: true,
        responses: [
          {
            Response: {
              ResponseRange: {
                header: { revision: 7 },
                kvs: [{ key: 'YQ==', create_revision: 6, mod_revision: 6, version: 1, value: 'MTEx' }],
                count: 1,
              },
            },
          },
        ],
      },
    },
  ],
  [
    'txn <<value("zz") = ""\\n\\nput f 6\\n\\nput e 5\\n\\n',
    { json: { header: { revision: 8 }, responses: [{ Response: { ResponsePut: { header: { revision: 8 } } } }] } },
  ],
  [
    'txn <<create("a") > "5"\\nmod("c") < "8"\\n\\nput g 7\\nget g\\n\\n\\n',
    {
      json: {
        header: { revision: 9 },
        succeeded: true,
        responses: [
          { Response: { ResponsePut: { header: { revision: 9 } } } },
          {
            Response: {
              ResponseRange: {
                header: { revision: 9 },
                kvs: [{ key: 'Zw==', create_revision: 9, mod_revision: 9, version: 1, value: 'Nw==' }],
                count: 1,
              },
            },
          },
        ],
      },
    },
  ],
  ['put k1 v3 -w json', { json: { header: { revision: 10 } } }],
  ['put k2 v1 -w json', { json: { header: { revision: 11 } } }],
  ['put k3 v2 -w json', { json: { header: { revision: 12 } } }],
  ['put k4 v1 -w json', { json: { header: { revision: 13 } } }],
  ['put k2 v1b -w json', { json: { header: { revision: 14 } } }],
  [
    'get k --prefix --sort-by=VALUE --order=DESCEND --limit 2 -w json',
    {
      json: {
        header: { revision: 14 },
        kvs: [
          { key: 'azE=', create_revision: 10, mod_revision: 10, version: 1, value: 'djM=' },
          { key: 'azM=', create_revision: 12, mod_revision: 12, version: 1, value: 'djI=' },
        ],
        more: true,
        count: 4,
      },
    },
  ],
  [
    'get k --prefix --limit 2 -w json',
    {
      json: {
        header: { revision: 14 },
        kvs: [
          { key: 'azE=', create_revision: 10, mod_revision: 10, version: 1, value: 'djM=' },
          { key: 'azI=', create_revision: 11, mod_revision: 14, version: 2, value: 'djFi' },
        ],
        more: true,
        count: 4,
      },
    },
  ],
  [
    'get k --prefix --sort-by=MODIFY --order=DESCEND --limit 1 --keys-only -w json',
    {
      json: {
        header: { revision: 14 },
        kvs: [{ key: 'azI=', create_revision: 11, mod_revision: 14, version: 2 }],
        more: true,
        count: 4,
      },
    },
  ],
  [
    'get k --prefix --sort-by=VERSION -w json',
    {
      json: {
        header: { revision: 14 },
        kvs: [
          { key: 'azE=', create_revision: 10, mod_revision: 10, version: 1, value: 'djM=' },
          { key: 'azM=', create_revision: 12, mod_revision: 12, version: 1, value: 'djI=' },
          { key: 'azQ=', create_revision: 13, mod_revision: 13, version: 1, value: 'djE=' },
          { key: 'azI=', create_revision: 11, mod_revision: 14, version: 2, value: 'djFi' },
        ],
        count: 4,
      },
    },
  ],
  [
    'get k --prefix --sort-by=CREATE --order=DESCEND -w json',
    {
      json: {
        header: { revision: 14 },
        kvs: [
          { key: 'azQ=', create_revision: 13, mod_revision: 13, version: 1, value: 'djE=' },
          { key: 'azM=', create_revision: 12, mod_revision: 12, version: 1, value: 'djI=' },
          { key: 'azI=', create_revision: 11, mod_revision: 14, version: 2, value: 'djFi' },
          { key: 'azE=', create_revision: 10, mod_revision: 10, version: 1, value: 'djM=' },
        ],
        count: 4,
      },
    },
  ],
  [
    'get k2 k4 -w json',
    {
      json: {
        header: { revision: 14 },
        kvs: [
          { key: 'azI=', create_revision: 11, mod_revision: 14, version: 2, value: 'djFi' },
          { key: 'azM=', create_revision: 12, mod_revision: 12, version: 1, value: 'djI=' },
        ],
        count: 2,
      },
    },
  ],
  [
    'del k --prefix --prev-kv -w json',
    {
      json: {
        header: { revision: 15 },
        deleted: 4,
        prev_kvs: [
          { key: 'azE=', create_revision: 10, mod_revision: 10, version: 1, value: 'djM=' },
          { key: 'azI=', create_revision: 11, mod_revision: 14, version: 2, value: 'djFi' },
          { key: 'azM=', create_revision: 12, mod_revision: 12, version: 1, value: 'djI=' },
          { key: 'azQ=', create_revision: 13, mod_revision: 13, version: 1, value: 'djE=' },
        ],
      },
    },
  ],
  [
    'put a 1111 --prev-kv -w json',
    {
      json: {
        header: { revision: 16 },
        prev_kv: { key: 'YQ==', create_revision: 6, mod_revision: 6, version: 1, value: 'MTEx' },
      },
    },
  ],
  ['compact 6', { text: 'compacted revision 6' }],
  ['get a --rev 5 -w json', { error: 'etcdserver: mvcc: required revision has been compacted' }],
  [
    'get a --rev 6 -w json',
    {
      json: {
        header: { revision: 16 },
        kvs: [{ key: 'YQ==', create_revision: 6, mod_revision: 6, version: 1, value: 'MTEx' }],
        count: 1,
      },
    },
  ],
  ['get a --rev 100 -w json', { error: 'etcdserver: mvcc: required revision is a future revision' }],
  ['compact 6', { error: 'etcdserver: mvcc: required revision has been compacted' }],
  ['compact 100', { error: 'etcdserver: mvcc: required revision is a future revision' }],
  [
    'get  --from-key -w json',
    {
      json: {
        header: { revision: 16 },
        kvs: [
          { key: 'YQ==', create_revision: 6, mod_revision: 16, version: 2, value: 'MTExMQ==' },
          { key: 'Yw==', create_revision: 7, mod_revision: 7, version: 1, value: 'Mw==' },
          { key: 'ZA==', create_revision: 7, mod_revision: 7, version: 1, value: 'NA==' },
          { key: 'ZQ==', create_revision: 8, mod_revision: 8, version: 1, value: 'NQ==' },
          { key: 'Zw==', create_revision: 9, mod_revision: 9, version: 1, value: 'Nw==' },
        ],
        count: 5,
      },
    },
  ],
];
