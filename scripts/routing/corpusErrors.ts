/** Errors as they appear on a developer's screen, pasted under (or above) a question. */
export const pastedErrors: readonly string[] = [
  `Traceback (most recent call last):
  File "app/main.py", line 42, in <module>
    main()
  File "app/main.py", line 37, in main
    cfg = load_config(path)
  File "app/config.py", line 12, in load_config
    return json.load(f)["db"]["host"]
KeyError: 'db'`,
  `TypeError: Cannot read properties of undefined (reading 'map')
    at UserList (webpack-internal:///./src/components/UserList.jsx:14:23)
    at renderWithHooks (react-dom.development.js:16305:18)
    at mountIndeterminateComponent (react-dom.development.js:20074:13)`,
  `Exception in thread "main" java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null
	at com.acme.billing.InvoiceService.format(InvoiceService.java:88)
	at com.acme.billing.Main.main(Main.java:21)`,
  `panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]

goroutine 1 [running]:
main.(*Server).handle(0x0, 0xc00012a000)
	/app/server.go:57 +0x2c`,
  "error[E0382]: borrow of moved value: `buf`\n  --> src/main.rs:14:20\n   |\n11 |     let data = buf;\n   |                --- value moved here\n14 |     println!(\"{}\", buf.len());\n   |                    ^^^ value borrowed here after move",
  `src/api/client.ts:23:5 - error TS2322: Type 'string | undefined' is not assignable to type 'string'.
  Type 'undefined' is not assignable to type 'string'.`,
  `ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(anna@example.com) already exists.`,
  `NAME                      READY   STATUS             RESTARTS   AGE
api-7d9f8b6c5-x2x9q       0/1     CrashLoopBackOff   6          8m`,
  `npm ERR! code ERESOLVE
npm ERR! ERESOLVE unable to resolve dependency tree
npm ERR! Found: react@18.2.0
npm ERR! Could not resolve dependency:
npm ERR! peer react@"^17.0.0" from react-dom@17.0.2`,
  `docker: Error response from daemon: driver failed programming external connectivity on endpoint web (3f2a9c): Bind for 0.0.0.0:8080 failed: port is already allocated.`,
  `ModuleNotFoundError: No module named 'requests'`,
  `Segmentation fault (core dumped)`,
  `fatal: refusing to merge unrelated histories`,
  `django.db.utils.OperationalError: could not connect to server: Connection refused
	Is the server running on host "localhost" (127.0.0.1) and accepting
	TCP/IP connections on port 5432?`,
  `Uncaught (in promise) DOMException: Failed to execute 'postMessage' on 'Worker': function could not be cloned.`,
  `java.lang.OutOfMemoryError: Java heap space
	at java.base/java.util.Arrays.copyOf(Arrays.java:3512)
	at com.acme.ingest.Batcher.add(Batcher.java:44)`,
  `Error: listen EADDRINUSE: address already in use :::3000
    at Server.setupListenHandle [as _listen2] (node:net:1872:16)
    at listenInCluster (node:net:1920:12)`,
  `E/AndroidRuntime: FATAL EXCEPTION: main
    java.lang.IllegalStateException: Fragment ProfileFragment not attached to a context.`,
];
