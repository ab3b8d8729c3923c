/**
 * The admin listener's two human pages, each one self-contained HTML file
 * (inline CSS and script, no build step, no external asset). They hold no
 * data: the script asks for the admin token (a `#token=` fragment, never sent
 * to the server, or a prompt; kept in sessionStorage) and calls the JSON API
 * with it, like any other client.
 *
 * /dashboard refreshes every 2 s from GET /status and GET /upstreams: routes,
 * targets with health and breaker state, request rates (from the per-target
 * request counters, per second between two polls) and latency (EWMA). It also
 * shows `status.totals` (requests, rate_limited, cache_hits, cache_misses)
 * and `status.routes[i].requests` / `.latency_ms` when GET /status carries
 * them: that is the hook for the metrics registry's per-route figures.
 */

const TOKEN_JS = `
function token(){
  const m=/(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if(m){sessionStorage.setItem("gwtoken",decodeURIComponent(m[1]));history.replaceState(null,"",location.pathname);}
  let t=sessionStorage.getItem("gwtoken");
  if(!t){t=prompt("Admin token")||"";sessionStorage.setItem("gwtoken",t);}
  return t;
}
async function api(path){
  const r=await fetch(path,{headers:{authorization:"Bearer "+token()}});
  if(r.status===401){sessionStorage.removeItem("gwtoken");if(window.timer)clearInterval(window.timer);throw new Error("wrong admin token (reload the page to enter it again)");}
  if(!r.ok)throw new Error(path+": HTTP "+r.status);
  return r.json();
}
function el(tag,attrs,...kids){const e=document.createElement(tag);for(const[k,v]of Object.entries(attrs||{}))e.setAttribute(k,v);for(const k of kids)e.append(k instanceof Node?k:document.createTextNode(String(k)));return e;}
`;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left}
th{background:#eee}.up{color:#070}.down,.open{color:#b00;font-weight:bold}.half_open{color:#a60}
.num{text-align:right;font-variant-numeric:tabular-nums}#error{color:#b00}code{background:#eee;padding:0 .2em}
.card{display:inline-block;background:#fff;border:1px solid #ddd;padding:.5em 1em;margin:0 .5em .5em 0}
.card b{display:block;font-size:1.4em}
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gateway status</title><style>${STYLE}</style></head>
<body>
<h1>gateway status <small id="version"></small></h1>
<p id="error"></p>
<div id="cards"></div>
<h2>Routes</h2>
<table id="routes"><thead><tr><th>name</th><th>path</th><th>upstream</th><th>auth</th><th>requests</th><th>latency ms</th></tr></thead><tbody></tbody></table>
<h2>Targets</h2>
<table id="targets"><thead><tr><th>upstream</th><th>target</th><th>health</th><th>breaker</th><th>in flight</th><th>req/s</th><th>requests</th><th>failures</th><th>latency ms (EWMA)</th></tr></thead><tbody></tbody></table>
<p><small>Refreshes every 2 s. <span id="updated"></span></small></p>
<script>
${TOKEN_JS}
let last=null;
function card(label,value,id){return el("div",{class:"card",id},el("b",{},value),label);}
async function refresh(){
  try{
    const [status,upstreams]=await Promise.all([api("/status"),api("/upstreams")]);
    const now=Date.now();
    document.getElementById("version").textContent=status.version;
    const cards=document.getElementById("cards");cards.replaceChildren();
    let total=0,rate=0;
    const rows=[];
    for(const u of upstreams)for(const t of u.targets){
      total+=t.requests;
      const prev=last&&last.targets[u.name+" "+t.url];
      const r=prev===undefined||!last?null:Math.max(0,(t.requests-prev)*1000/(now-last.at));
      if(r!==null)rate+=r;
      rows.push(el("tr",{},u.name,t.url,el("td",{class:t.health},t.health+(t.passive==="down"?" (passive down)":"")),el("td",{class:t.breaker},t.breaker),
        el("td",{class:"num"},t.in_flight),el("td",{class:"num"},r===null?"…":r.toFixed(1)),el("td",{class:"num"},t.requests),el("td",{class:"num"},t.failures),el("td",{class:"num"},t.latency_ewma_ms.toFixed(1))));
    }
    document.querySelector("#targets tbody").replaceChildren(...rows.map(fixCells));
    const totals=status.totals||{};
    cards.append(card("upstream requests",total,"c-requests"),card("req/s",last?rate.toFixed(1):"…","c-rate"),
      card("workers",status.workers,"c-workers"),card("uptime s",status.uptime_s,"c-uptime"),
      card("rate-limited",totals.rate_limited??"n/a","c-limited"),
      card("cache hit ratio",totals.cache_hits!==undefined&&totals.cache_hits+totals.cache_misses>0?(100*totals.cache_hits/(totals.cache_hits+totals.cache_misses)).toFixed(1)+" %":"n/a","c-cache"));
    document.querySelector("#routes tbody").replaceChildren(...status.routes.map(r=>fixCells(el("tr",{},r.name,r.path,r.upstream??"",r.auth??"none",r.requests??"n/a",r.latency_ms!==undefined?r.latency_ms.toFixed(1):"n/a"))));
    const targets={};for(const u of upstreams)for(const t of u.targets)targets[u.name+" "+t.url]=t.requests;
    last={at:now,targets};
    document.getElementById("updated").textContent="updated "+new Date(now).toLocaleTimeString();
    document.getElementById("error").textContent="";
  }catch(e){document.getElementById("error").textContent=String(e.message||e);}
}
function fixCells(tr){for(const n of [...tr.childNodes])if(n.nodeType===3)tr.replaceChild(el("td",{},n.textContent),n);return tr;}
refresh();window.timer=setInterval(refresh,2000);
</script>
</body></html>
`;

export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gateway admin API</title><style>${STYLE}
.op{background:#fff;border:1px solid #ddd;margin:.5em 0;padding:.5em 1em}.m{font-weight:bold;text-transform:uppercase;display:inline-block;width:4.5em}
pre{background:#f3f3f3;padding:.5em;overflow:auto;max-height:20em}</style></head>
<body>
<h1 id="title">gateway admin API</h1>
<p>Every endpoint needs <code>Authorization: Bearer &lt;admin.token&gt;</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<p id="error"></p>
<div id="ops"></div>
<script>
${TOKEN_JS}
api("/openapi.json").then(doc=>{
  document.getElementById("title").textContent=doc.info.title+" "+doc.info.version;
  const ops=document.getElementById("ops");
  for(const[path,item]of Object.entries(doc.paths))for(const[method,op]of Object.entries(item)){
    const box=el("div",{class:"op"},el("span",{class:"m"},method),el("code",{},path)," ",op.summary);
    for(const p of op.parameters||[])box.append(el("div",{},"parameter ",el("code",{},p.name)," (",p.in,p.required?", required":"",")"));
    const body=op.requestBody&&op.requestBody.content["application/json"];
    if(body)box.append(el("div",{},"body:"),el("pre",{},JSON.stringify(body.schema,null,2)));
    box.append(el("div",{},"answers: "+Object.entries(op.responses).map(([c,r])=>c+" "+r.description).join("; ")));
    ops.append(box);
  }
}).catch(e=>{document.getElementById("error").textContent=String(e.message||e);});
</script>
</body></html>
`;
