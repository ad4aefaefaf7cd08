ARG V=3.13
FROM python:${V}-slim
FROM "alpine:3.20.3"
FROM  alpine  
