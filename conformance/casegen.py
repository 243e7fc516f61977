"""Helpers for the conformance case generators: check characters computed by the standards,
digests, and the shared samples. Imported by zj/generate.py and pairs/generate.py."""
import base64
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "..", "shared", "platforms", "samples")
A='0123456789ABCDEFGHJKLMNPQRTUWXY'
W=[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28]
def uscc(p17):
    s=sum(A.index(c)*w for c,w in zip(p17,W)); return p17+A[(31-s%31)%31]
def rid(p17):
    w=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]; s=sum(int(c)*x for c,x in zip(p17,w)); return p17+'10X98765432'[s%11]
def lic(p13):
    p=10
    for d in p13:
        s=(p+int(d))%10; s=10 if s==0 else s; p=(s*2)%11
    return 'JY'+p13+str((11-p)%10)
def zj_app(): return json.load(open(f'{SAMPLES}/zj-application.json'))
def zj_dec(): return json.load(open(f'{SAMPLES}/zj-decision.json'))
def file_of(data: bytes):
    return hashlib.sha256(data).hexdigest(), base64.b64encode(data).decode()
def dump(path, obj, expect=None):
    open(path,'w').write(json.dumps(obj, ensure_ascii=False, indent=2)+'\n')
    if expect is not None:
        open(path.rsplit('.',1)[0]+'.expect','w').write(expect.strip()+'\n')
