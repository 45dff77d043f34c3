// Box's Node SDK as an application uses it, with its default agent: reads the file request the
// test created, updates its title with the etag it read, and prints both answers as JSON. The
// server's CA reaches Node only through NODE_EXTRA_CA_CERTS. Usage:
//   node file_request.js BASE_URL FILE_REQUEST_ID TOKEN NEW_TITLE
'use strict';
const { BoxClient, BoxDeveloperTokenAuth } = require('box-node-sdk');

async function main() {
  const [baseUrl, id, token, title] = process.argv.slice(2);
  const client = new BoxClient({ auth: new BoxDeveloperTokenAuth({ token }) }).withCustomBaseUrls({
    baseUrl,
    uploadUrl: baseUrl,
    oauth2Url: `${baseUrl}/oauth2`,
  });
  const read = await client.fileRequests.getFileRequestById(id);
  const updated = await client.fileRequests.updateFileRequestById(id, { title }, { headers: { ifMatch: read.etag } });
  process.stdout.write(JSON.stringify({ read: read.rawData, updated: updated.rawData }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
