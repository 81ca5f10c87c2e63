import { strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

const FAR = () => Date.now() + 3_600_000;

export const payloadTests = storeTests([
  {
    name: "payloads: '' and 'null' round-trip and differ from a miss",
    async run({ createStore, keys }) {
      const store = await createStore();
      const empty = keys.user("empty@x.com");
      const nul = keys.user("null@x.com");
      await store.set(empty, "", FAR());
      await store.set(nul, "null", FAR());
      strictEqual(await store.get(empty), "");
      strictEqual(await store.get(nul), "null");
      const many = await store.getMany([empty, nul, keys.user("none@x.com")]);
      strictEqual(many[0], "");
      strictEqual(many[1], "null");
      strictEqual(many[2], undefined);
      const r = await store.read([empty, nul], []);
      strictEqual(r.values[0], "");
      strictEqual(r.values[1], "null");
    },
  },
  {
    name: "payloads: unicode, quotes, backslashes and line breaks round-trip exactly",
    async run({ createStore, keys }) {
      const store = await createStore();
      const values = [
        "Grüße, 漢字, עברית, 🎉👩‍👩‍👧",
        "quote \" apostrophe ' backslash \\ slash /",
        "line\nbreak\r\ntab\tend",
        "{tag} %41 * ? [x] $1 $&",
        'JSON {"v":1,"k":"user","x":{"a":[1,2]}}',
        "e\u0301 (combining) vs é",
      ];
      const ks = values.map((_, i) => keys.ctx("u@x.com", `j${i}`));
      for (const [i, v] of values.entries()) await store.set(ks[i] as string, v, FAR());
      for (const [i, v] of values.entries()) strictEqual(await store.get(ks[i] as string), v);
      const many = await store.getMany(ks);
      for (const [i, v] of values.entries()) strictEqual(many[i], v);
    },
  },
  {
    name: "payloads: a 1 MB value round-trips",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("big@x.com");
      const chunk = "0123456789abcdef€"; // multi-byte on purpose: 1 MB of characters, more bytes
      const big = chunk.repeat(Math.ceil(1_048_576 / chunk.length)).slice(0, 1_048_576);
      await store.set(k, big, FAR());
      const back = await store.get(k);
      strictEqual(back?.length, big.length);
      strictEqual(back === big, true, "the 1 MB value came back altered");
    },
  },
]);
