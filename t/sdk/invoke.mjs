// Invoke a function through nginx with @aws-sdk/client-lambda (v3), as a
// Node.js site would.  Prints one JSON line, as t/lib/lambda_client.py
// does: the response ({status, function_error, version, payload,
// request_id}) or the error the SDK threw ({error: {code, message,
// status, request_id}}), and the number of HTTP attempts.
//
//   node invoke.mjs --endpoint http://127.0.0.1:PORT --function NAME
//       [--type Event|RequestResponse|DryRun] [--payload JSON]
//       [--qualifier Q] [--key ID --secret S] [--region R] [--attempts N]

import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";

const opt = {
  payload: "{}",
  key: "AKIDNOTCHECKED",
  secret: "not-checked",
  region: "eu-west-1",
};

for (let i = 2; i + 1 < process.argv.length; i += 2) {
  opt[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}

const client = new LambdaClient({
  endpoint: opt.endpoint,
  region: opt.region,
  credentials: { accessKeyId: opt.key, secretAccessKey: opt.secret },
  maxAttempts: opt.attempts ? Number(opt.attempts) : 3,
});

let attempts = 0;

client.middlewareStack.add(
  (next) => async (args) => {
    attempts++;
    return next(args);
  },
  { step: "deserialize", name: "countAttempts" },
);

const input = {
  FunctionName: opt.function,
  Payload: new TextEncoder().encode(opt.payload),
};

if (opt.type) {
  input.InvocationType = opt.type;
}

if (opt.qualifier) {
  input.Qualifier = opt.qualifier;
}

let out;

try {
  const r = await client.send(new InvokeCommand(input));
  out = {
    status: r.StatusCode,
    function_error: r.FunctionError ?? null,
    version: r.ExecutedVersion ?? null,
    payload: r.Payload ? new TextDecoder().decode(r.Payload) : "",
    request_id: r.$metadata.requestId ?? null,
  };
} catch (e) {
  out = {
    error: {
      code: e.name,
      message: e.message,
      status: e.$metadata?.httpStatusCode ?? null,
      request_id: e.$metadata?.requestId ?? null,
    },
  };
}

out.attempts = attempts;
process.stdout.write(JSON.stringify(out) + "\n");
