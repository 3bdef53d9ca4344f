// Reads queries (one per line) on stdin and prints, as a JSON array, whether
// Grafana's LogQL grammar parses each without error nodes.
import { parser } from '@grafana/lezer-logql';
import { readFileSync } from 'node:fs';

const queries = readFileSync(0, 'utf8').split('\n').filter((q) => q.trim() !== '');
const verdicts = queries.map((q) => {
  const tree = parser.parse(q);
  let ok = true;
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        ok = false;
      }
    },
  });
  return ok;
});
process.stdout.write(JSON.stringify(verdicts));
